/**
 * PostgreSQL for the benches: the server in CSB_RELAY_TEST_PG when set, else a throwaway one
 * started with scripts/pg-throwaway.sh (loopback) and stopped by `stop()`.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { Client } from 'pg'
import { ROOT } from './dist'

export interface Postgres {
  server: string
  /** A new database on the server; its URL and how to drop it. */
  database(): Promise<{ url: string; drop: () => Promise<void> }>
  stop(): void
}

async function onServer(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

export function postgres(): Postgres {
  const script = path.join(ROOT, 'scripts', 'pg-throwaway.sh')
  let server = process.env.CSB_RELAY_TEST_PG
  let stopServer = () => {}
  if (!server) {
    const out = execFileSync('bash', ['-c', `source "$0" && pg_throwaway_start >&2 && echo "$CSB_RELAY_TEST_PG" && echo "$PG_DIR"`, script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit']
    })
    const [url, dir] = out.trim().split('\n').slice(-2)
    server = url!
    stopServer = () => {
      execFileSync('bash', ['-c', `source "$0" && PG_DIR="$1" && pg_throwaway_stop`, script, dir!], { stdio: 'inherit' })
      console.log('== PostgreSQL stopped')
    }
  }
  const serverUrl = server
  return {
    server: serverUrl,
    async database() {
      const name = `csb_bench_${randomBytes(5).toString('hex')}`
      await onServer(serverUrl, `CREATE DATABASE ${name}`)
      const url = new URL(serverUrl)
      url.pathname = `/${name}`
      return { url: url.toString(), drop: () => onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) }
    },
    stop: () => stopServer()
  }
}
