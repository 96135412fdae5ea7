import { PRUNE_CHUNK } from '../rows'
import { Tally } from '../tally'
import { writeTally, type SqliteContext } from './context'


/**
 * One chunk of `prune`: deletes up to PRUNE_CHUNK delivered or skipped events finished before
 * the retention, and as many dedupe entries older than the window; old outcome counters go in
 * the first chunk. Dead letters stay until replayed. Dedupe entries live in their own table, so
 * a messageId still inside the window stays deduplicated after its event was pruned.
 * Returns the events deleted and whether anything is left to delete.
 */
export function pruneChunk(ctx: SqliteContext, nowMs: number, first: boolean): { deleted: number; more: boolean } {
  const cutoff = nowMs - ctx.options.retentionMs
  const tally = new Tally()
  let deleted = 0
  let more = false
  for (const status of ['delivered', 'skipped'] as const) {
    // Each deleted row leaves its own destination's total.
    const gone = ctx
      .q<{ destination: string }>(
        `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE status = '${status}' AND finished_at < ? LIMIT ${PRUNE_CHUNK})
         RETURNING destination`
      )
      .all(cutoff)
    for (const row of gone) tally.total(row.destination, status, -1)
    deleted += gone.length
    more ||= gone.length === PRUNE_CHUNK
  }
  if (first) ctx.q('DELETE FROM outcome_counts WHERE minute < ?').run(cutoff)
  const forgotten = ctx
    .q(`DELETE FROM dedupe WHERE (source, message_id) IN (SELECT source, message_id FROM dedupe WHERE seen_at <= ? LIMIT ${PRUNE_CHUNK})`)
    .run(nowMs - ctx.options.dedupeWindowMs).changes
  more ||= forgotten === PRUNE_CHUNK
  writeTally(ctx, tally)
  return { deleted, more }
}
