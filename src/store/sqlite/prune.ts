import { Tally } from '../tally'
import { writeTally, type SqliteContext } from './context'

/**
 * Deletes delivered and skipped events finished before the retention, outcome counters older
 * than the retention, and dedupe entries older than the window. Dead letters stay until
 * replayed. Dedupe entries live in their own table, so a messageId still inside the window
 * stays deduplicated after its event was pruned. Returns the number of events deleted.
 */
export function prune(ctx: SqliteContext, nowMs: number): number {
  const cutoff = nowMs - ctx.options.retentionMs
  const tally = new Tally()
  let deleted = 0
  for (const status of ['delivered', 'skipped'] as const) {
    const n = ctx.q(`DELETE FROM events WHERE status = '${status}' AND finished_at < ?`).run(cutoff).changes
    tally.total(status, -n)
    deleted += n
  }
  ctx.q('DELETE FROM outcome_counts WHERE minute < ?').run(cutoff)
  ctx.q('DELETE FROM dedupe WHERE seen_at <= ?').run(nowMs - ctx.options.dedupeWindowMs)
  writeTally(ctx, tally)
  return deleted
}
