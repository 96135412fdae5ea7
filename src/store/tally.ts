import { MINUTE_MS, type TotalBucket } from './rows'
import type { Outcome } from './types'

/** One outcome counter change: a minute, an outcome, a destination. */
export interface OutcomeDelta {
  minute: number
  outcome: Outcome
  destination: string
  n: number
}

/** One total change: a destination's status bucket. */
export interface TotalDelta {
  destination: string
  bucket: TotalBucket
  n: number
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Counter changes made by one transaction: outcome counts per minute and destination (for
 * `stats`) and per-status totals per destination (for `counts`). Written once, at the end of
 * the same transaction.
 */
export class Tally {
  readonly outcomes = new Map<string, OutcomeDelta>()
  readonly totals = new Map<string, TotalDelta>()

  outcome(destination: string, atMs: number, outcome: Outcome, n = 1): void {
    if (n === 0) return
    const minute = Math.floor(atMs / MINUTE_MS) * MINUTE_MS
    const key = `${minute}|${outcome}|${destination}`
    const entry = this.outcomes.get(key)
    if (entry) entry.n += n
    else this.outcomes.set(key, { minute, outcome, destination, n })
  }

  total(destination: string, bucket: TotalBucket, delta: number): void {
    if (delta === 0) return
    const key = `${bucket}|${destination}`
    const entry = this.totals.get(key)
    if (entry) entry.n += delta
    else this.totals.set(key, { destination, bucket, n: delta })
  }

  /** Adds another tally's changes to this one. */
  merge(other: Tally): void {
    for (const o of other.outcomes.values()) this.outcome(o.destination, o.minute, o.outcome, o.n)
    for (const t of other.totals.values()) this.total(t.destination, t.bucket, t.n)
  }

  /** Bucket of an unfinished event. */
  static unfinished(attempts: number): TotalBucket {
    return attempts > 0 ? 'retrying' : 'new'
  }

  get empty(): boolean {
    return this.outcomes.size === 0 && [...this.totals.values()].every((t) => t.n === 0)
  }

  /**
   * Entries in a fixed order (the counters' key order), so concurrent PostgreSQL transactions
   * lock counter rows in the same order.
   */
  sortedOutcomes(): OutcomeDelta[] {
    return [...this.outcomes.values()].sort((a, b) => a.minute - b.minute || byText(a.outcome, b.outcome) || byText(a.destination, b.destination))
  }

  sortedTotals(): TotalDelta[] {
    return [...this.totals.values()].filter((t) => t.n !== 0).sort((a, b) => byText(a.destination, b.destination) || byText(a.bucket, b.bucket))
  }
}
