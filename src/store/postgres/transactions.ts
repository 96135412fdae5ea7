import type { Pool, PoolClient } from 'pg'
import { queryable, type Queryable } from './context'

/** SQLSTATEs after which a transaction is simply run again: deadlock, serialization failure. */
const RETRYABLE = new Set(['40P01', '40001'])
const MAX_TRIES = 5

const retryable = (error: unknown, attempt: number): boolean => {
  const code = (error as { code?: string }).code
  return code !== undefined && RETRYABLE.has(code) && attempt < MAX_TRIES
}

/** Runs a single-statement operation (atomic by itself), again after a deadlock. */
export async function once<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (!retryable(error, attempt)) throw error
    }
  }
}

/** Runs `fn` in a transaction, again from the start after a deadlock or serialization failure. */
export async function transaction<T>(pool: Pool, fn: (client: Queryable) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect()
    let broken = false
    try {
      await client.query('BEGIN')
      const result = await fn(queryable(client))
      await client.query('COMMIT')
      return result
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true
      })
      if (!retryable(error, attempt)) throw error
    } finally {
      client.release(broken)
    }
  }
}

/**
 * Key rows are rewritten by every lease and outcome; dead versions slow the lease scan until
 * vacuumed. One instance at a time (advisory lock) vacuums them; failures wait for next time.
 */
export async function vacuumHotTables(pool: Pool, schema: string): Promise<void> {
  let client: PoolClient | undefined
  try {
    client = await pool.connect()
    const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext('csb-relay:vacuum:' || $1)) AS ok`, [schema])
    if (!rows[0].ok) return
    try {
      await client.query('VACUUM (ANALYZE) queue_keys, totals')
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('csb-relay:vacuum:' || $1))`, [schema])
    }
  } catch {
    // Not the owner, or the database is away: autovacuum still runs.
  } finally {
    client?.release()
  }
}
