import type { Queryable } from './context'

export async function getMeta(pool: Queryable, key: string): Promise<string | null> {
  const { rows } = await pool.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])
  return rows.length > 0 ? rows[0].value : null
}

/** One statement: on a conflict the row already there is returned (the update changes nothing), and PostgreSQL makes a concurrent insert of the same key wait for the first to commit. */
export async function setMetaIfAbsent(pool: Queryable, key: string, value: string): Promise<string> {
  const { rows } = await pool.query<{ value: string }>(
    'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = meta.value RETURNING value',
    [key, value]
  )
  return rows[0].value
}

export async function setMeta(pool: Queryable, key: string, value: string): Promise<void> {
  await pool.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, value])
}
