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
  const shard = randomShard()
  const outcomes = tally.sortedOutcomes()
  if (outcomes.length > 0) {
    await client.query(
      `INSERT INTO outcome_counts (minute, outcome, shard, n)
       SELECT minute, outcome, $4, n FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS t(minute, outcome, n)
       ON CONFLICT (minute, outcome, shard) DO UPDATE SET n = outcome_counts.n + EXCLUDED.n`,
      [outcomes.map((o) => o.minute), outcomes.map((o) => o.outcome), outcomes.map((o) => o.n), shard]
    )
  }
  const totals = tally.sortedTotals()
  if (totals.length > 0) {
    await client.query(
      `INSERT INTO totals (bucket, shard, n)
       SELECT bucket, $3, n FROM unnest($1::text[], $2::bigint[]) AS t(bucket, n)
       ON CONFLICT (bucket, shard) DO UPDATE SET n = totals.n + EXCLUDED.n`,
      [totals.map(([b]) => b), totals.map(([, n]) => n), shard]
    )
  }
}

/**
 * Makes each key's row match its events, releases the leases in `released`, and writes the
 * transaction's counters, in one statement. Head = lowest-id pending event; a lease still held
 * is kept (the key is ready again when it expires); a key with no pending event has no row.
 * Callers hold the locks of the existing key rows and have already changed the events.
 */
export async function refreshKeys(client: Queryable, keys: string[], released: string[] = [], tally?: Tally): Promise<void> {
  const outcomes = tally?.sortedOutcomes() ?? []
  const totals = tally?.sortedTotals() ?? []
  if (keys.length === 0 && outcomes.length === 0 && totals.length === 0) return
  await client.query(
    `WITH heads AS (
       SELECT k.ordering_key, h.id, h.run_at
         FROM unnest($1::text[]) AS k(ordering_key)
         JOIN LATERAL (
           SELECT id, run_at FROM events WHERE ordering_key = k.ordering_key AND status = 'pending' ORDER BY id LIMIT 1
         ) h ON true
     ), ${keyRowsAndCounters(1, 2, 3)}
     SELECT 1`,
    [[...new Set(keys)], released, ...tallyParams(tally)]
  )
}

/**
 * CTEs that bring the rows of the keys in $keys in line with a `heads` CTE (ordering_key, id,
 * run_at of each key's head; keys without one lose their row), release the leases of the keys
 * in $released, and add the counters given by tallyParams at $first.. $first+5.
 */
export function keyRowsAndCounters(keys: number, released: number, first: number): string {
  const [buckets, deltas, minutes, names, counts, shard] = [0, 1, 2, 3, 4, 5].map((i) => `$${first + i}`)
  return `refreshed AS (
       INSERT INTO queue_keys (ordering_key, head_id, ready_at)
       SELECT ordering_key, id, run_at FROM heads ORDER BY ordering_key COLLATE "C"
       ON CONFLICT (ordering_key) DO UPDATE SET
         head_id = EXCLUDED.head_id,
         ready_at = CASE WHEN queue_keys.leased_event_id IS NOT NULL AND NOT (queue_keys.ordering_key = ANY($${released}::text[]))
                         THEN queue_keys.leased_until ELSE EXCLUDED.ready_at END,
         leased_event_id = CASE WHEN queue_keys.ordering_key = ANY($${released}::text[]) THEN NULL ELSE queue_keys.leased_event_id END,
         leased_until = CASE WHEN queue_keys.ordering_key = ANY($${released}::text[]) THEN NULL ELSE queue_keys.leased_until END,
         lease_owner = CASE WHEN queue_keys.ordering_key = ANY($${released}::text[]) THEN NULL ELSE queue_keys.lease_owner END,
         lease_token = CASE WHEN queue_keys.ordering_key = ANY($${released}::text[]) THEN NULL ELSE queue_keys.lease_token END
     ), emptied AS (
       DELETE FROM queue_keys WHERE ordering_key = ANY($${keys}::text[]) AND ordering_key NOT IN (SELECT ordering_key FROM heads)
     ), counted AS (
       INSERT INTO totals (bucket, shard, n)
       SELECT bucket, ${shard}::int, n FROM unnest(${buckets}::text[], ${deltas}::bigint[]) AS t(bucket, n)
       ON CONFLICT (bucket, shard) DO UPDATE SET n = totals.n + EXCLUDED.n
     ), outcomes AS (
       INSERT INTO outcome_counts (minute, outcome, shard, n)
       SELECT minute, outcome, ${shard}::int, n FROM unnest(${minutes}::bigint[], ${names}::text[], ${counts}::bigint[]) AS t(minute, outcome, n)
       ON CONFLICT (minute, outcome, shard) DO UPDATE SET n = outcome_counts.n + EXCLUDED.n
     )`
}

/** The six parameters keyRowsAndCounters expects for a tally. */
export function tallyParams(tally?: Tally): unknown[] {
  const outcomes = tally?.sortedOutcomes() ?? []
  const totals = tally?.sortedTotals() ?? []
  return [
    totals.map(([b]) => b), totals.map(([, n]) => n),
    outcomes.map((o) => o.minute), outcomes.map((o) => o.outcome), outcomes.map((o) => o.n),
    randomShard()
  ]
}

/** Locks the rows of these keys in sorted order (every transaction takes key locks in this order). */
export async function lockKeys<R = KeyRow>(client: Queryable, keys: Iterable<string>): Promise<R[]> {
  const sorted = [...new Set(keys)].sort()
  if (sorted.length === 0) return []
  const { rows } = await client.query(
    `SELECT * FROM queue_keys WHERE ordering_key = ANY($1::text[]) ORDER BY ordering_key COLLATE "C" FOR UPDATE`,
    [sorted]
  )
  return rows as R[]
}

export interface KeyRow {
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
