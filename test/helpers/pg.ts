/**
 * A private PostgreSQL database per test: `CREATE DATABASE csb_test_<random>` on the server
 * named by CSB_RELAY_TEST_PG (scripts/test.sh starts a throwaway one), dropped afterwards.
 */
import { randomBytes } from 'node:crypto'
import { Client } from 'pg'

/** The server URL, or a clear failure: these tests never skip. */
export function requireTestPg(): string {
  const url = process.env.CSB_RELAY_TEST_PG
  if (!url) {
    throw new Error(
      'CSB_RELAY_TEST_PG is not set: the scale tests need a PostgreSQL server. Run them through `npm test` ' +
        '(scripts/test.sh starts a throwaway one), or: source scripts/pg-throwaway.sh && pg_throwaway_start && npx vitest run test/scale'
    )
  }
  return url
}

export interface TestDatabase {
  name: string
  /** postgres://... of the new database. */
  url: string
  /** Runs one query on the new database (a short-lived connection). */
  query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>
  /** Drops the database, ending any connection still open to it (a killed relay's, for one). */
  drop(): Promise<void>
}

async function onServer<T>(serverUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: serverUrl })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => {})
  }
}

export async function createTestDatabase(serverUrl = requireTestPg()): Promise<TestDatabase> {
  const name = `csb_test_${randomBytes(6).toString('hex')}`
  await onServer(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`))
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const dbUrl = url.toString()
  return {
    name,
    url: dbUrl,
    query: <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      onServer(dbUrl, async (c) => (await c.query(sql, params)).rows as T[]),
    drop: () => onServer(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined)
  }
}
