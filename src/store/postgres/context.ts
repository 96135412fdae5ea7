import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg'
import type { ResolvedStoreOptions } from '../options'
import { cleanText } from '../rows'
import type { Tally } from '../tally'

export interface PgContext {
  pool: Pool
  options: ResolvedStoreOptions
}

const SHARDS = 8

export const randomShard = (): number => Math.floor(Math.random() * SHARDS)

/** Writes a transaction's counter changes, rows in a fixed order (no lock-order deadlocks). */
export async function writeTally(client: Queryable, tally: Tally): Promise<void> {
  if (tally.empty) return
  await client.query(`WITH ${counters(1)} SELECT 1`, tallyParams(tally))
}

/** A key: an ordering key at a destination. */
export interface KeyName {
  destination: string
  orderingKey: string
}

/** Keys as the two parallel arrays the SQL unnests. */
export function keyArrays(keys: Iterable<KeyName>): [string[], string[]] {
  const destinations: string[] = []
  const orderingKeys: string[] = []
  const seen = new Set<string>()
  for (const k of keys) {
    const id = `${k.destination}\u0000${k.orderingKey}`
    if (seen.has(id)) continue
    seen.add(id)
    destinations.push(k.destination)
    orderingKeys.push(k.orderingKey)
  }
  return [destinations, orderingKeys]
}

/**
 * Makes each key's row match its events and writes the transaction's counters, in one
 * statement. Head = lowest-id pending event of the key at its destination; a lease still held
 * is kept (the key is ready again when it expires), unless its event is one of `releasedIds`
 * (rows the caller deleted); a key with no pending event has no row. Callers hold the locks
 * of the existing key rows and have already changed the events.
 */
export async function refreshKeys(client: Queryable, keys: KeyName[], tally?: Tally, releasedIds: number[] = []): Promise<void> {
  const [destinations, orderingKeys] = keyArrays(keys)
  if (destinations.length === 0 && (tally === undefined || tally.empty)) return
  await client.query(
    `WITH heads AS (
       SELECT k.destination, k.ordering_key, h.id, h.run_at
         FROM unnest($1::text[], $2::text[]) AS k(destination, ordering_key)
         JOIN LATERAL (
           SELECT id, run_at FROM events
            WHERE destination = k.destination AND ordering_key = k.ordering_key AND status = 'pending' ORDER BY id LIMIT 1
         ) h ON true
     ), ${keyRowsAndCounters(1, 3, 4)}
     SELECT 1`,
    [destinations, orderingKeys, releasedIds, ...tallyParams(tally)]
  )
}

/**
 * CTEs that bring the rows of the keys given at $keys, $keys+1 (destinations, ordering keys)
 * in line with a `heads` CTE (destination, ordering_key, id, run_at of each key's head; keys
 * without one lose their row), release the leases held by the events in $released (ids), and
 * add the counters given by tallyParams at $first.. $first+7.
 */
export function keyRowsAndCounters(keys: number, released: number, first: number): string {
  const freed = `queue_keys.leased_event_id = ANY($${released}::bigint[])`
  return `refreshed AS (
       INSERT INTO queue_keys (destination, ordering_key, head_id, ready_at)
       SELECT destination, ordering_key, id, run_at FROM heads ORDER BY destination COLLATE "C", ordering_key COLLATE "C"
       ON CONFLICT (destination, ordering_key) DO UPDATE SET
         head_id = EXCLUDED.head_id,
         ready_at = CASE WHEN queue_keys.leased_event_id IS NOT NULL AND NOT (${freed}) THEN queue_keys.leased_until ELSE EXCLUDED.ready_at END,
         leased_event_id = CASE WHEN ${freed} THEN NULL ELSE queue_keys.leased_event_id END,
         leased_until = CASE WHEN ${freed} THEN NULL ELSE queue_keys.leased_until END,
         lease_owner = CASE WHEN ${freed} THEN NULL ELSE queue_keys.lease_owner END,
         lease_token = CASE WHEN ${freed} THEN NULL ELSE queue_keys.lease_token END
     ), emptied AS (
       DELETE FROM queue_keys q USING unnest($${keys}::text[], $${keys + 1}::text[]) AS t(destination, ordering_key)
        WHERE q.destination = t.destination AND q.ordering_key = t.ordering_key
          AND NOT EXISTS (SELECT 1 FROM heads h WHERE h.destination = q.destination AND h.ordering_key = q.ordering_key)
     ), ${counters(first)}`
}

/** CTEs that add the counters given by tallyParams at $first.. $first+7. */
function counters(first: number): string {
  const [totalDestinations, buckets, deltas, minutes, names, outcomeDestinations, counts, shard] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `$${first + i}`)
  return `counted AS (
       INSERT INTO totals (destination, bucket, shard, n)
       SELECT destination, bucket, ${shard}::int, n FROM unnest(${totalDestinations}::text[], ${buckets}::text[], ${deltas}::bigint[]) AS t(destination, bucket, n)
       ON CONFLICT (destination, bucket, shard) DO UPDATE SET n = totals.n + EXCLUDED.n
     ), outcomes AS (
       INSERT INTO outcome_counts (minute, outcome, destination, shard, n)
       SELECT minute, outcome, destination, ${shard}::int, n
         FROM unnest(${minutes}::bigint[], ${names}::text[], ${outcomeDestinations}::text[], ${counts}::bigint[]) AS t(minute, outcome, destination, n)
       ON CONFLICT (minute, outcome, destination, shard) DO UPDATE SET n = outcome_counts.n + EXCLUDED.n
     )`
}

/** The eight parameters keyRowsAndCounters (and writeTally) expect for a tally, rows in the tally's fixed order. */
export function tallyParams(tally?: Tally): unknown[] {
  const outcomes = tally?.sortedOutcomes() ?? []
  const totals = tally?.sortedTotals() ?? []
  return [
    totals.map((t) => t.destination), totals.map((t) => t.bucket), totals.map((t) => t.n),
    outcomes.map((o) => o.minute), outcomes.map((o) => o.outcome), outcomes.map((o) => o.destination), outcomes.map((o) => o.n),
    randomShard()
  ]
}

/** Locks the rows of these keys in (destination, ordering key) order (every transaction takes key locks in this order). */
export async function lockKeys<R = KeyRow>(client: Queryable, keys: Iterable<KeyName>): Promise<R[]> {
  const [destinations, orderingKeys] = keyArrays(keys)
  if (destinations.length === 0) return []
  const { rows } = await client.query(
    `SELECT q.* FROM queue_keys q JOIN unnest($1::text[], $2::text[]) AS t(destination, ordering_key)
         ON q.destination = t.destination AND q.ordering_key = t.ordering_key
      ORDER BY q.destination COLLATE "C", q.ordering_key COLLATE "C" FOR UPDATE OF q`,
    [destinations, orderingKeys]
  )
  return rows as R[]
}

export interface KeyRow {
  destination: string
  ordering_key: string
  head_id: number
  ready_at: number
  leased_event_id: number | null
  leased_until: number | null
  lease_owner: string | null
  lease_token: string | null
}

/** What the verbs run their SQL on: a pool or a transaction's client, with parameters cleaned. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<QueryResult<R>>
}

/** Every string parameter goes through cleanText (see rows.ts). */
function clean(value: unknown): unknown {
  if (typeof value === 'string') return cleanText(value)
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? cleanText(v) : v))
  return value
}

export function queryable(target: Pool | PoolClient): Queryable {
  return {
    query: <R extends QueryResultRow>(sql: string, params?: unknown[]) => target.query<R>(sql, params?.map(clean))
  }
}
