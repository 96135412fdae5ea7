import { PRUNE_CHUNK } from '../rows'
import { Tally } from '../tally'
import { writeTally, type SqliteContext } from './context'
import { eraseDeleted, type Run } from './erase'

/**
 * `prune`: chunks, one transaction each, so ingest and delivery keep going while it runs; then
 * the erasure (erase.ts): the deletes ran with `secure_delete` on, so the pruned rows' bytes are
 * zeroed in the database pages, and a truncating checkpoint empties the WAL of their old images.
 * What can stay is a copy SQLite left in a page's unused space when it moved the row between pages
 * while it was alive: only a VACUUM clears those, and rewriting the whole database on every prune
 * costs too much (docs/store.md, "Retention"). Runs the VACUUM a failed purge still owes, though.
 */
export async function prune(ctx: SqliteContext, run: Run, nowMs: number, inMemory: boolean): Promise<number> {
  let total = 0
  for (let first = true; ; first = false) {
    const { deleted, more } = await run(() => pruneChunk(ctx, nowMs, first))
    total += deleted
    if (!more) break
  }
  await eraseDeleted(ctx, run, inMemory, { what: 'the prune', retry: 'let the next prune try again' })
  return total
}


/**
 * One chunk of `prune`: deletes up to PRUNE_CHUNK delivered or skipped events (samples included)
 * finished before the retention, as many dead letters dead for longer than theirs, and as many
 * dedupe entries older than the window; old outcome counters go in the first chunk. Dedupe entries live in their own table, so
 * a messageId still inside the window stays deduplicated after its event was pruned.
 * Returns the events deleted and whether anything is left to delete.
 */
export function pruneChunk(ctx: SqliteContext, nowMs: number, first: boolean): { deleted: number; more: boolean } {
  const cutoff = nowMs - ctx.options.retentionMs
  const cutoffs = { delivered: cutoff, skipped: cutoff, dead: nowMs - ctx.options.deadLetterRetentionMs }
  const tally = new Tally()
  let deleted = 0
  let more = false
  for (const status of ['delivered', 'skipped', 'dead'] as const) {
    // Each deleted row leaves its own destination's total.
    const gone = ctx
      .q<{ destination: string }>(
        `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE status = '${status}' AND finished_at < ? LIMIT ${PRUNE_CHUNK})
         RETURNING destination`
      )
      .all(cutoffs[status])
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
