import type { ResolvedStoreOptions } from '../options'
import { checkLease, EVENT_COLUMNS, parseId, toStoredEvent, type EventRow } from '../rows'
import { newLeaseToken } from '../lease-token'
import type { LeasedEvent, LeaseOptions, LeasesTaken } from '../types'
import { randomShard, type Queryable } from './context'

/** Every destination that has a key row: one index probe per destination, not a scan of the keys. */
export const KEY_DESTINATIONS = `key_destinations(destination) AS (
       SELECT min(destination) FROM queue_keys
       UNION ALL
       SELECT (SELECT min(destination) FROM queue_keys q WHERE q.destination > d.destination) FROM key_destinations d
        WHERE d.destination IS NOT NULL
     )`

/**
 * The due keys a lease takes, locked: one destination's from the (destination, ready_at,
 * head_id) index; or each destination's first due keys, merged (the extra keys a destination
 * offered stay locked only until the statement ends).
 */
const PICK_ONE = `picked AS (
       SELECT destination, ordering_key FROM queue_keys
        WHERE destination = $8 AND ready_at <= $1 AND NOT (ordering_key = ANY($5::text[]))
        ORDER BY ready_at, head_id LIMIT $2
        FOR UPDATE SKIP LOCKED
     )`
const PICK_ANY = `${KEY_DESTINATIONS}, picked AS (
       SELECT p.destination, p.ordering_key FROM key_destinations d CROSS JOIN LATERAL (
         SELECT destination, ordering_key, ready_at, head_id FROM queue_keys
          WHERE destination = d.destination AND ready_at <= $1 AND NOT (ordering_key = ANY($5::text[]))
          ORDER BY ready_at, head_id LIMIT $2
          FOR UPDATE SKIP LOCKED
       ) p
        WHERE d.destination IS NOT NULL
        ORDER BY p.ready_at, p.head_id LIMIT $2
     )`

/**
 * Leases the heads of up to `limit` due keys. `FOR UPDATE SKIP LOCKED` lets instances lease
 * side by side without waiting on each other or taking the same key; a key whose lease expired
 * is due again, so a dead instance's events go to whoever asks next.
 */
export async function leaseEvents(db: Queryable, options: ResolvedStoreOptions, lease: LeaseOptions): Promise<LeasedEvent[]> {
  const { limit, leaseMs } = checkLease(lease.limit, lease.leaseMs)
  if (limit === 0) return []
  const now = options.now()
  const until = now + leaseMs
  const one = lease.destination !== undefined
  // One statement: atomic by itself, one round trip. Leasing counts as an attempt; a first
  // attempt moves the event from its destination's 'new' to its 'retrying' total.
  const { rows } = await db.query<EventRow & { lease_token: string }>(
    `WITH RECURSIVE ${one ? PICK_ONE : PICK_ANY}, leased AS (
       UPDATE queue_keys k SET leased_event_id = k.head_id, leased_until = $3, ready_at = $3, lease_owner = $4,
              lease_token = $6 || '-' || k.head_id
         FROM picked WHERE k.destination = picked.destination AND k.ordering_key = picked.ordering_key
       RETURNING k.head_id, k.lease_token
     ), started AS (
       UPDATE events e SET attempts = e.attempts + 1, updated_at = $1
         FROM leased WHERE e.id = leased.head_id
       RETURNING ${EVENT_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')}, leased.lease_token
     ), firsts AS (
       SELECT destination, count(*) AS n FROM started WHERE attempts = 1 GROUP BY destination
     ), counted AS (
       INSERT INTO totals (destination, bucket, shard, n)
       SELECT f.destination, b.bucket, $7, b.n FROM firsts f, LATERAL (VALUES ('new', -f.n), ('retrying', f.n)) AS b(bucket, n)
        ORDER BY f.destination COLLATE "C", b.bucket COLLATE "C"
       ON CONFLICT (destination, bucket, shard) DO UPDATE SET n = totals.n + EXCLUDED.n
     )
     SELECT * FROM started ORDER BY id`,
    [now, limit, until, lease.owner, [...(lease.excludeKeys ?? [])], newLeaseToken(), randomShard(), ...(one ? [lease.destination] : [])]
  )
  return rows.map((row) => ({ ...toStoredEvent(row), leasedUntil: new Date(until), leaseId: row.lease_token }))
}

/**
 * Extends the leases of `storeIds` (those not numeric are no row's) that still hold their key's
 * lease; answers those ids (the others are settled, skipped, purged or re-leased elsewhere).
 */
export async function extendLeases(client: Queryable, options: ResolvedStoreOptions, storeIds: string[], leaseMs: number): Promise<string[]> {
  const ids = storeIds.map(parseId).filter((id): id is number => id !== null)
  if (ids.length === 0) return []
  const until = options.now() + (Number.isFinite(leaseMs) ? Math.max(0, leaseMs) : 0)
  const { rows } = await client.query<{ id: string }>(
    `WITH target AS (
       SELECT q.destination, q.ordering_key FROM queue_keys q
         JOIN events e ON e.destination = q.destination AND e.ordering_key = q.ordering_key AND q.leased_event_id = e.id
        WHERE e.id = ANY($1::bigint[]) AND e.status = 'pending'
        ORDER BY q.destination COLLATE "C", q.ordering_key COLLATE "C" FOR UPDATE OF q
     )
     UPDATE queue_keys q SET leased_until = $2, ready_at = $2 FROM target
      WHERE q.destination = target.destination AND q.ordering_key = target.ordering_key
     RETURNING q.leased_event_id AS id`,
    [ids, until]
  )
  return rows.map((row) => String(row.id))
}

/**
 * Records in `taken` when the latest lease held on one of `rowIds` by an owner other than
 * `owner` (any owner when not given) runs out: for a suppress or purge about to take those rows
 * away, with their keys locked (contract/regulations.ts, LeasesTaken).
 */
export async function noteLeasesTaken(client: Queryable, options: ResolvedStoreOptions, rowIds: readonly number[], owner: string | undefined, taken: LeasesTaken): Promise<void> {
  if (rowIds.length === 0) return
  const { rows } = await client.query<{ until: string | null }>(
    `SELECT max(leased_until) AS until FROM queue_keys
      WHERE leased_event_id = ANY($1::bigint[]) AND leased_until > $2 AND ($3::text IS NULL OR lease_owner IS DISTINCT FROM $3::text)`,
    [rowIds, options.now(), owner ?? null]
  )
  const until = rows[0]?.until
  if (until !== null && until !== undefined) taken.leasedElsewhereUntil = Math.max(taken.leasedElsewhereUntil ?? 0, Number(until))
}
