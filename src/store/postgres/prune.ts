import type { ResolvedStoreOptions } from '../options'
import { PRUNE_CHUNK } from '../rows'
import { Tally } from '../tally'
import { writeTally, type Queryable } from './context'

/** One chunk of `prune`, as the SQLite engine's (see sqlite/prune.ts). */
export async function pruneChunk(client: Queryable, options: ResolvedStoreOptions, nowMs: number, first: boolean): Promise<{ deleted: number; more: boolean }> {
  const cutoff = nowMs - options.retentionMs
  const tally = new Tally()
  let deleted = 0
  let more = false
  for (const status of ['delivered', 'skipped'] as const) {
    // Each deleted row leaves its own destination's total.
    const { rows } = await client.query<{ destination: string; n: number }>(
      `WITH gone AS (
         DELETE FROM events WHERE id IN (SELECT id FROM events WHERE status = '${status}' AND finished_at < $1 LIMIT ${PRUNE_CHUNK})
         RETURNING destination
       )
       SELECT destination, count(*) AS n FROM gone GROUP BY destination`,
      [cutoff]
    )
    let n = 0
    for (const row of rows) {
      tally.total(row.destination, status, -Number(row.n))
      n += Number(row.n)
    }
    deleted += n
    more ||= n === PRUNE_CHUNK
  }
  if (first) await client.query('DELETE FROM outcome_counts WHERE minute < $1', [cutoff])
  const { rowCount } = await client.query(
    `DELETE FROM dedupe WHERE (source, message_id) IN (SELECT source, message_id FROM dedupe WHERE seen_at <= $1 LIMIT ${PRUNE_CHUNK})`,
    [nowMs - options.dedupeWindowMs]
  )
  more ||= rowCount === PRUNE_CHUNK
  await writeTally(client, tally)
  return { deleted, more }
}
