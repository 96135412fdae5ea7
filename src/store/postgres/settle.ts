import type { ResolvedStoreOptions } from '../options'
import { parseId, samplesText } from '../rows'
import { mayApply, type Settlement } from '../settlement'
import { Tally } from '../tally'
import { refreshKeys, type KeyRow, type Queryable } from './context'

/**
 * Applies outcomes under the rules in settlement.ts, set-based: lock the keys (sorted), then
 * the events, decide in memory, then one UPDATE for the events and one pass over the keys.
 */
export async function settle(client: Queryable, options: ResolvedStoreOptions, items: Settlement[]): Promise<void> {
  const ids = [...new Set(items.map((i) => parseId(i.id)).filter((id): id is number => id !== null))]
  if (ids.length === 0) return
  const now = options.now()
  // Key rows first, in sorted order (the lock order of every transaction); then read the events
  // in a new statement, so their status is the one committed before we got the locks.
  const { rows: locked } = await client.query<KeyRow>(
    `SELECT * FROM queue_keys WHERE ordering_key IN (SELECT ordering_key FROM events WHERE id = ANY($1::bigint[]))
      ORDER BY ordering_key COLLATE "C" FOR UPDATE`,
    [ids]
  )
  const keys = new Map(locked.map((k) => [k.ordering_key, k]))
  const { rows: eventRows } = await client.query<{ id: number; ordering_key: string; status: string; attempts: number }>(
    'SELECT id, ordering_key, status, attempts FROM events WHERE id = ANY($1::bigint[])',
    [ids]
  )
  const events = new Map(eventRows.map((e) => [Number(e.id), { ...e, id: Number(e.id) }]))

  const tally = new Tally()
  const updates = new Map<number, { item: Settlement }>()
  const released = new Set<string>()
  const touched = new Set<string>()
  for (const item of items) {
    const id = parseId(item.id)
    if (id === null) continue
    const event = events.get(id)
    const key: KeyRow | undefined = event ? keys.get(event.ordering_key) : undefined
    const { apply, holdsLease } = mayApply(item, event, key)
    if (!apply || !event) continue
    updates.set(id, { item })
    if (holdsLease && key) {
      released.add(event.ordering_key)
      key.leased_event_id = null
      key.lease_token = null
    }
    touched.add(event.ordering_key)
    if (item.status !== 'pending') {
      tally.total(Tally.unfinished(event.attempts), -1)
      tally.total(item.status, 1)
      event.status = item.status
    }
    tally.outcome(now, item.status === 'pending' ? 'retrying' : item.status)
  }
  if (updates.size === 0) return

  const list = [...updates.entries()]
  const col = <T>(f: (item: Settlement, retrying: boolean) => T) => list.map(([, u]) => f(u.item, u.item.status === 'pending'))
  await client.query(
    `UPDATE events e SET
       status = u.status,
       run_at = COALESCE(u.run_at, e.run_at),
       last_error = COALESCE(u.error, e.last_error),
       first_failed_at = CASE WHEN u.retrying THEN COALESCE(e.first_failed_at, $10) ELSE e.first_failed_at END,
       finished_at = u.finished_at,
       updated_at = $10,
       action = COALESCE(u.action, e.action),
       last_status = COALESCE(u.http_status, e.last_status),
       samples = COALESCE(u.samples, e.samples)
     FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bool[], $6::bigint[], $7::text[], $8::int[], $9::text[])
       AS u(id, status, run_at, error, retrying, finished_at, action, http_status, samples)
     WHERE e.id = u.id`,
    [
      list.map(([id]) => id),
      col((i) => i.status),
      col((i, retrying) => (retrying ? i.runAt ?? now : null)),
      col((i) => i.error ?? null),
      col((_, retrying) => retrying),
      col((i, retrying) => (retrying ? null : i.finishedAt ?? now)),
      col((i) => i.action ?? null),
      col((i) => i.httpStatus ?? null),
      col((i) => samplesText(i.samples)),
      now
    ]
  )
  await refreshKeys(client, [...touched], [...released], tally)
}
