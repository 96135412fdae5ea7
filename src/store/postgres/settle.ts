import type { ResolvedStoreOptions } from '../options'
import { parseId, samplesText } from '../rows'
import { mayApply, type Settlement } from '../settlement'
import { Tally } from '../tally'
import { keyArrays, keyRowsAndCounters, tallyParams, type KeyName, type KeyRow, type Queryable } from './context'

const keyOf = (destination: string, orderingKey: string): string => `${destination}\u0000${orderingKey}`

/**
 * Applies outcomes under the rules in settlement.ts, set-based, in two statements: lock and
 * read, decide in memory, then change the events, the keys and the counters together.
 */
export async function settle(client: Queryable, options: ResolvedStoreOptions, items: Settlement[]): Promise<void> {
  const ids = [...new Set(items.map((i) => parseId(i.id)).filter((id): id is number => id !== null))]
  if (ids.length === 0) return
  const now = options.now()
  // One statement locks each event's key row and the event row, keys in sorted order (the lock
  // order of every transaction). Rows it had to wait for are re-read once the lock is granted,
  // so what we decide on is the state committed by whoever held them. Events whose key has no
  // row are not pending: they drop out of the join and are ignored, as rule 1 says.
  const { rows: locked } = await client.query<KeyRow & { id: number; status: string; attempts: number }>(
    `SELECT e.id, e.status, e.attempts, q.destination, q.ordering_key, q.head_id, q.ready_at, q.leased_event_id, q.leased_until,
            q.lease_owner, q.lease_token
       FROM events e JOIN queue_keys q ON q.destination = e.destination AND q.ordering_key = e.ordering_key
      WHERE e.id = ANY($1::bigint[])
      ORDER BY q.destination COLLATE "C", q.ordering_key COLLATE "C", e.id
      FOR UPDATE OF q, e`,
    [ids]
  )
  const keys = new Map(locked.map((k) => [keyOf(k.destination, k.ordering_key), k]))
  const events = new Map(
    locked.map((e) => [Number(e.id), { id: Number(e.id), destination: e.destination, ordering_key: e.ordering_key, status: e.status, attempts: Number(e.attempts) }])
  )

  const tally = new Tally()
  const updates = new Map<number, { item: Settlement }>()
  // Events that held their key's lease: the refresh releases those leases.
  const released: number[] = []
  const touched: KeyName[] = []
  for (const item of items) {
    const id = parseId(item.id)
    if (id === null) continue
    const event = events.get(id)
    const key: KeyRow | undefined = event ? keys.get(keyOf(event.destination, event.ordering_key)) : undefined
    const { apply, holdsLease } = mayApply(item, event, key)
    if (!apply || !event) continue
    updates.set(id, { item })
    if (holdsLease && key) {
      released.push(id)
      key.leased_event_id = null
      key.lease_token = null
    }
    touched.push({ destination: event.destination, orderingKey: event.ordering_key })
    if (item.status !== 'pending') {
      tally.total(event.destination, Tally.unfinished(event.attempts), -1)
      tally.total(event.destination, item.status, 1)
      event.status = item.status
    }
    tally.outcome(event.destination, now, item.status === 'pending' ? 'retrying' : item.status)
  }
  if (updates.size === 0) return

  const list = [...updates.entries()]
  const col = <T>(f: (item: Settlement, retrying: boolean) => T) => list.map(([, u]) => f(u.item, u.item.status === 'pending'))
  // The events change and the keys follow in one statement. Its snapshot still shows the events
  // before the change, so a key's next head skips the events finished here and takes the new
  // run time of one retried here. We hold the key rows, so nothing else changes those keys.
  await client.query(
    `WITH u AS (
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bool[], $6::bigint[], $7::text[], $8::int[], $9::text[],
                            $23::bigint[])
         AS u(id, status, run_at, error, retrying, finished_at, action, http_status, samples, not_before)
     ), changed AS (
       UPDATE events e SET
         status = u.status,
         run_at = COALESCE(u.run_at, e.run_at),
         last_error = COALESCE(u.error, e.last_error),
         first_failed_at = CASE WHEN u.retrying THEN COALESCE(e.first_failed_at, $10) ELSE e.first_failed_at END,
         retry_not_before = u.not_before,
         finished_at = u.finished_at,
         updated_at = $10,
         action = COALESCE(u.action, e.action),
         last_status = COALESCE(u.http_status, e.last_status),
         samples = COALESCE(u.samples, e.samples)
       FROM u WHERE e.id = u.id
       RETURNING e.id
     ), heads AS (
       -- Start at the current head: every pending id of a key is at or above it, and the index
       -- entries below it belong to finished events (dead row versions until vacuumed).
       -- A plain filter on the finished ids keeps this an index scan that stops at the first hit.
       SELECT q.destination, q.ordering_key, h.id, COALESCE((SELECT u.run_at FROM u WHERE u.id = h.id), h.run_at) AS run_at
         FROM unnest($11::text[], $12::text[]) AS t(destination, ordering_key)
         JOIN queue_keys q ON q.destination = t.destination AND q.ordering_key = t.ordering_key
         JOIN LATERAL (
           SELECT e.id, e.run_at FROM events e
            WHERE e.destination = q.destination AND e.ordering_key = q.ordering_key AND e.status = 'pending' AND e.id >= q.head_id
              AND NOT (e.id = ANY($22::bigint[]))
            ORDER BY e.id LIMIT 1
         ) h ON true
     ), ${keyRowsAndCounters(11, 13, 14)}
     SELECT count(*) FROM changed`,
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
      now,
      ...keyArrays(touched),
      released,
      ...tallyParams(tally),
      list.filter(([, u]) => u.item.status !== 'pending').map(([id]) => id),
      col((i, retrying) => (retrying ? i.notBefore ?? null : null))
    ]
  )
}
