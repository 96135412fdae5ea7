import type { ResolvedStoreOptions } from '../options'
import type { ExpediteOptions } from '../types'
import { lockKeys, refreshKeys, type Queryable } from './context'

/**
 * Pending events of one destination whose last attempt failed retryably (a failed attempt that
 * is not finished leaves `last_error` set and the event pending) at or after a time ($2), that
 * wait for a later retry, are not leased, and whose destination-requested wait is over ($3: now).
 */
const WAITING = `e.status = 'pending' AND e.last_error IS NOT NULL AND e.destination = $1 AND e.updated_at >= $2 AND e.run_at > $3
    AND (e.retry_not_before IS NULL OR e.retry_not_before <= $3)
    AND NOT EXISTS (SELECT 1 FROM queue_keys q WHERE q.destination = e.destination AND q.ordering_key = e.ordering_key AND q.leased_event_id = e.id)`

/** Makes those events due now, and their keys ready (a key's readiness is its head's run time). */
export async function expediteRetries(client: Queryable, options: ResolvedStoreOptions, expedite: ExpediteOptions): Promise<number> {
  const now = expedite.now?.getTime() ?? options.now()
  const params = [expedite.destination, expedite.failedSince.getTime(), now]
  // Keys first, then events: the lock order every transaction follows. The events are chosen
  // again once the keys are locked, so a lease that took one meanwhile leaves it out.
  const { rows: keyNames } = await client.query<{ ordering_key: string }>(`SELECT DISTINCT e.ordering_key FROM events e WHERE ${WAITING}`, params)
  if (keyNames.length === 0) return 0
  await lockKeys(client, keyNames.map((k) => ({ destination: expedite.destination, orderingKey: k.ordering_key })))
  const { rows } = await client.query<{ ordering_key: string }>(
    `UPDATE events SET run_at = $3
      WHERE id IN (SELECT e.id FROM events e WHERE ${WAITING} ORDER BY e.id FOR UPDATE OF e)
      RETURNING ordering_key`,
    params
  )
  await refreshKeys(client, rows.map((r) => ({ destination: expedite.destination, orderingKey: r.ordering_key })))
  return rows.length
}
