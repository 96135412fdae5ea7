import type { Pool, PoolClient } from 'pg'
import type { ResolvedStoreOptions } from '../options'
import type { Tally } from '../tally'

export interface PgContext {
  pool: Pool
  options: ResolvedStoreOptions
}

const SHARDS = 8

/** Writes a transaction's counter changes, rows in a fixed order (no lock-order deadlocks). */
export async function writeTally(client: PoolClient, tally: Tally): Promise<void> {
  const shard = Math.floor(Math.random() * SHARDS)
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
 * Makes each key's row match its events: head = lowest-id pending event; a lease in progress
 * is kept (the key is ready again when it expires); a key with no pending event has no row.
 * Callers hold the locks of the existing key rows.
 */
export async function refreshKeys(client: PoolClient, keys: string[]): Promise<void> {
  if (keys.length === 0) return
  const sorted = [...new Set(keys)].sort()
  await client.query(
    `INSERT INTO queue_keys (ordering_key, head_id, ready_at)
     SELECT k.ordering_key, h.id, h.run_at
       FROM unnest($1::text[]) AS k(ordering_key)
       JOIN LATERAL (
         SELECT id, run_at FROM events
          WHERE ordering_key = k.ordering_key AND status = 'pending' ORDER BY id LIMIT 1
       ) h ON true
      ORDER BY k.ordering_key COLLATE "C"
     ON CONFLICT (ordering_key) DO UPDATE SET
       head_id = EXCLUDED.head_id,
       ready_at = CASE WHEN queue_keys.leased_event_id IS NOT NULL THEN queue_keys.leased_until ELSE EXCLUDED.ready_at END`,
    [sorted]
  )
  await client.query(
    `DELETE FROM queue_keys q WHERE q.ordering_key = ANY($1::text[])
       AND NOT EXISTS (SELECT 1 FROM events e WHERE e.ordering_key = q.ordering_key AND e.status = 'pending')`,
    [sorted]
  )
}

/** Locks the rows of these keys in sorted order (every transaction takes key locks in this order). */
export async function lockKeys<R = KeyRow>(client: PoolClient, keys: Iterable<string>): Promise<R[]> {
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
