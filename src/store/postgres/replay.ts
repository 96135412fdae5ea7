import type { ResolvedStoreOptions } from '../options'
import { parseId } from '../rows'
import { Tally } from '../tally'
import type { ReplayFilter } from '../types'
import { lockKeys, refreshKeys, type Queryable } from './context'
import { EVENT_JSON } from './purge'

/**
 * A suppressed user's dead letter is never replayed: suppress closes them (suppress.ts), and one
 * still dead (a suppression that failed half-way, a store an earlier version of the relay
 * suppressed in) stays dead rather than being delivered. Checked in the statement that revives, so a suppression
 * committed after the replay began is honoured too.
 */
const NOT_SUPPRESSED = `(NOT EXISTS (SELECT 1 FROM suppressed_users)
  OR NOT EXISTS (SELECT 1 FROM suppressed_users s WHERE s.user_id = (${EVENT_JSON} ->> 'userId')))`

/** Dead letters but a suppressed user's back to pending, attempts reset, at their original position (their id) in their key at their destination. */
export async function replayEvents(client: Queryable, options: ResolvedStoreOptions, filter: ReplayFilter): Promise<number> {
  const now = options.now()
  const reason = filter.reason ?? null
  const destination = filter.destination ?? null
  let ids: number[] | null = null
  if (filter.ids && filter.ids.length > 0) ids = filter.ids.map(parseId).filter((id): id is number => id !== null)
  else if (!filter.all) return 0
  if (ids !== null && ids.length === 0) return 0
  const match = `status = 'dead' AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))
    AND ($2::text IS NULL OR strpos(COALESCE(last_error, ''), $2::text) > 0) AND ($3::text IS NULL OR destination = $3::text) AND ${NOT_SUPPRESSED}`
  // Keys first, then events: the lock order every transaction follows.
  const { rows: keyNames } = await client.query<{ destination: string; ordering_key: string }>(
    `SELECT DISTINCT destination, ordering_key FROM events WHERE ${match}`,
    [ids, reason, destination]
  )
  if (keyNames.length === 0) return 0
  await lockKeys(client, keyNames.map((k) => ({ destination: k.destination, orderingKey: k.ordering_key })))
  const { rows } = await client.query<{ destination: string; ordering_key: string }>(
    `UPDATE events SET status = 'pending', attempts = 0, run_at = $4, first_failed_at = NULL, finished_at = NULL,
       last_error = NULL, updated_at = $4
     WHERE id IN (SELECT id FROM events WHERE ${match} ORDER BY id FOR UPDATE)
     RETURNING destination, ordering_key`,
    [ids, reason, destination, now]
  )
  const tally = new Tally()
  for (const row of rows) {
    tally.total(row.destination, 'dead', -1)
    tally.total(row.destination, 'new', 1)
  }
  await refreshKeys(client, rows.map((r) => ({ destination: r.destination, orderingKey: r.ordering_key })), tally)
  return rows.length
}
