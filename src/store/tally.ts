import { MINUTE_MS, type TotalBucket } from './rows'
import type { Outcome } from './types'

/**
 * Counter changes made by one transaction: outcome counts per minute (for `stats`) and
 * per-status totals (for `counts`). Written once, at the end of the same transaction.
 */
export class Tally {
  readonly outcomes = new Map<string, { minute: number; outcome: Outcome; n: number }>()
  readonly totals = new Map<TotalBucket, number>()

  outcome(atMs: number, outcome: Outcome, n = 1): void {
    if (n === 0) return
    const minute = Math.floor(atMs / MINUTE_MS) * MINUTE_MS
    const key = `${minute}|${outcome}`
    const entry = this.outcomes.get(key)
    if (entry) entry.n += n
    else this.outcomes.set(key, { minute, outcome, n })
  }

  total(bucket: TotalBucket, delta: number): void {
    if (delta === 0) return
    this.totals.set(bucket, (this.totals.get(bucket) ?? 0) + delta)
  }

  /** Adds another tally's changes to this one. */
  merge(other: Tally): void {
    for (const { minute, outcome, n } of other.outcomes.values()) this.outcome(minute, outcome, n)
    for (const [bucket, n] of other.totals) this.total(bucket, n)
  }

  /** Bucket of an unfinished event. */
  static unfinished(attempts: number): TotalBucket {
    return attempts > 0 ? 'retrying' : 'new'
  }

  get empty(): boolean {
    return this.outcomes.size === 0 && [...this.totals.values()].every((v) => v === 0)
  }

  /** Entries in a fixed order, so concurrent PostgreSQL transactions lock counter rows in the same order. */
  sortedOutcomes(): Array<{ minute: number; outcome: Outcome; n: number }> {
    return [...this.outcomes.values()].sort((a, b) => a.minute - b.minute || (a.outcome < b.outcome ? -1 : a.outcome > b.outcome ? 1 : 0))
  }

  sortedTotals(): Array<[TotalBucket, number]> {
    return [...this.totals.entries()].filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }
}
