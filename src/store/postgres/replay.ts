import type { ResolvedStoreOptions } from '../options'
import { parseId } from '../rows'
import { Tally } from '../tally'
import type { ReplayFilter } from '../types'
import { lockKeys, refreshKeys, type Queryable } from './context'

/** Dead letters back to pending, attempts reset, at their original position (their id) in their key. */
export async function replayEvents(client: Queryable, options: ResolvedStoreOptions, filter: ReplayFilter): Promise<number> {
  const now = options.now()
  const reason = filter.reason ?? null
  let ids: number[] | null = null
  if (filter.ids && filter.ids.length > 0) ids = filter.ids.map(parseId).filter((id): id is number => id !== null)
  else if (!filter.all) return 0
  if (ids !== null && ids.length === 0) return 0
  const match = `status = 'dead' AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))
    AND ($2::text IS NULL OR strpos(COALESCE(last_error, ''), $2::text) > 0)`
  // Keys first, then events: the lock order every transaction follows.
  const { rows: keyNames } = await client.query<{ ordering_key: string }>(`SELECT DISTINCT ordering_key FROM events WHERE ${match}`, [ids, reason])
  if (keyNames.length === 0) return 0
  await lockKeys(client, keyNames.map((k) => k.ordering_key))
  const { rows } = await client.query<{ ordering_key: string }>(
    `UPDATE events SET status = 'pending', attempts = 0, run_at = $3, first_failed_at = NULL, finished_at = NULL,
       last_error = NULL, updated_at = $3
     WHERE id IN (SELECT id FROM events WHERE ${match} ORDER BY id FOR UPDATE)
     RETURNING ordering_key`,
    [ids, reason, now]
  )
  const tally = new Tally()
  tally.total('dead', -rows.length)
  tally.total('new', rows.length)
  await refreshKeys(client, rows.map((r) => r.ordering_key), [], tally)
  return rows.length
}
