import type { TotalBucket } from './rows'
import type { Counts, DestinationCounts } from './types'

/** Both engines build `counts()` from per-destination parts with these. */
export function emptyDestinationCounts(): DestinationCounts {
  return { pending: 0, retrying: 0, inFlight: 0, delivered: 0, dead: 0, skipped: 0, oldestPendingAt: null }
}

/** Adds a totals row to a destination's counts ('new' is what `counts()` calls pending). */
export function addTotal(counts: DestinationCounts, bucket: TotalBucket, n: number): void {
  if (bucket === 'new') counts.pending += n
  else counts[bucket] += n
}

/**
 * Finishes each destination's counts (leasing counts as an attempt, so every leased event sits
 * in the retrying total: in-flight ones are taken out of it) and sums them, with the admitted
 * events not yet fanned out (SQLite's inbox), into the store's counts.
 */
export function sumCounts(admitted: number, admittedSince: number | null, byDestination: Record<string, DestinationCounts>): Counts {
  const counts: Counts = {
    admitted, pending: 0, retrying: 0, inFlight: 0, delivered: 0, dead: 0, skipped: 0, oldestPendingAt: null, byDestination
  }
  let oldest = admittedSince ?? Infinity
  for (const d of Object.values(byDestination)) {
    d.retrying = Math.max(0, d.retrying - d.inFlight)
    counts.pending += d.pending
    counts.retrying += d.retrying
    counts.inFlight += d.inFlight
    counts.delivered += d.delivered
    counts.dead += d.dead
    counts.skipped += d.skipped
    if (d.oldestPendingAt) oldest = Math.min(oldest, d.oldestPendingAt.getTime())
  }
  counts.oldestPendingAt = oldest === Infinity ? null : new Date(oldest)
  return counts
}
