/**
 * Store throughput, printed beside baselines measured in the same run:
 *   npx tsx bench/store.ts [--pg URL] [--events N] [--backlog N] [--engines sqlite,postgres] [--dist PATH] [--quick]
 * Baseline: raw better-sqlite3 multi-row inserts of the same rows into a bare table with the
 * same durability (WAL, synchronous=FULL), 100 rows per transaction.
 * With --pg (or CSB_RELAY_TEST_PG) the PostgreSQL engine runs too, each run in its own schema.
 * The store comes from the built dist (this checkout's, or another's with --dist / BENCH_DIST);
 * --quick (or BENCH_QUICK=1) shortens every run to a smoke check.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import pg from 'pg'
import type * as StoreModule from '../src/store'
import type { NewEvent, Store } from '../src/store'
import { openDist } from './lib/dist'
import { COMMON_OPTIONS, setting } from './lib/options'
import { machineLine } from './lib/report'

const { values: args } = parseArgs({
  options: { ...COMMON_OPTIONS, events: { type: 'string' }, backlog: { type: 'string' }, pg: { type: 'string' }, engines: { type: 'string' } }
})
const quick = args.quick ?? false
const EVENTS = setting('--events', args.events, { full: 100_000, short: 2000 }, quick, 100)
const BACKLOG = setting('--backlog', args.backlog, { full: 100_000, short: 2000 }, quick, 500)
const PG = args.pg ?? process.env.CSB_RELAY_TEST_PG
/** --engines sqlite,postgres (default both; postgres needs --pg or CSB_RELAY_TEST_PG). */
const ENGINES = (args.engines ?? 'sqlite,postgres').split(',')
const dist = openDist(args.dist)
const { openStore } = dist.load<typeof StoreModule>('store')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-bench-store-'))

let serial = 0
function makeEvent(keys: number): NewEvent {
  const n = ++serial
  const messageId = `bench-${n}-${Math.random().toString(36).slice(2)}`
  const userId = `user-${n % keys}`
  return {
    source: 'bench',
    messageId,
    orderingKey: userId,
    type: 'track',
    receivedAt: new Date(),
    event: {
      type: 'track', messageId, userId, event: 'Feature Used',
      properties: { feature: 'reports', plan: 'pro', seats: 12, value: n },
      context: { library: { name: 'analytics-node', version: '3.1.0' }, ip: '203.0.113.9' },
      timestamp: new Date().toISOString(), receivedAt: new Date().toISOString(), sentAt: new Date().toISOString()
    }
  }
}
const batches = (total: number, size: number, keys: number) =>
  Array.from({ length: Math.ceil(total / size) }, () => Array.from({ length: size }, () => makeEvent(keys)))

function rate(events: number, ms: number): number {
  return Math.round((events / ms) * 1000)
}

function rawBaseline(total: number, file = path.join(dir, 'raw.db')): number {
  const db = new Database(file)
  if (file !== ':memory:') {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
  }
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, source TEXT, message_id TEXT, ordering_key TEXT, type TEXT, event TEXT, received_at INTEGER)')
  const insert = db.prepare('INSERT INTO t (source, message_id, ordering_key, type, event, received_at) VALUES (?, ?, ?, ?, ?, ?)')
  const tx = db.transaction((rows: NewEvent[]) => {
    for (const e of rows) insert.run(e.source, e.messageId, e.orderingKey, e.type, JSON.stringify(e.event), e.receivedAt.getTime())
  })
  const input = batches(total, 100, 10_000)
  const start = performance.now()
  for (const b of input) tx(b)
  const ms = performance.now() - start
  db.close()
  return rate(total, ms)
}

async function enqueueSequential(store: Store, total: number): Promise<number> {
  const input = batches(total, 100, 10_000)
  const start = performance.now()
  for (const b of input) await store.enqueue(b)
  return rate(total, performance.now() - start)
}

async function enqueueConcurrent(store: Store, total: number, concurrency: number, size: number): Promise<number> {
  const input = batches(total, size, 10_000)
  const start = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < input.length) await store.enqueue(input[next++])
    })
  )
  return rate(total, performance.now() - start)
}

/** Workers lease up to 64 heads at a time and complete them, until `count` events are done. */
async function leaseComplete(store: Store, count: number, workers: number, limit: number): Promise<number> {
  let done = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (done < count) {
        const leased = await store.lease({ limit, leaseMs: 60_000, owner: `w${w}` })
        if (leased.length === 0) {
          await new Promise((r) => setTimeout(r, 1))
          continue
        }
        await store.complete(leased.map((e) => ({ id: e.id, leaseId: e.leaseId, status: 200, action: 'track' })))
        done += leased.length
      }
    })
  )
  return rate(done, performance.now() - start)
}

async function engineRun(label: string, url: string, baseline: number): Promise<void> {
  const row = (name: string, perSecond: number) =>
    console.log(`${label.padEnd(8)} ${name.padEnd(52)} ${String(perSecond).padStart(9)} ev/s   ${(perSecond / baseline).toFixed(2)}x baseline`)
  let store = await openStore(url)
  row('enqueue, 100-event batches, one at a time', await enqueueSequential(store, EVENTS))
  row('enqueue, 1-event calls, 64 concurrent (group commit)', await enqueueConcurrent(store, Math.min(EVENTS, 20_000), 64, 1))
  const before = store.enqueueTransactions ?? 0
  row('enqueue, 100-event batches, 16 concurrent', await enqueueConcurrent(store, EVENTS, 16, 100))
  console.log(`${label.padEnd(8)} (16 concurrent callers used ${(store.enqueueTransactions ?? 0) - before} transactions for ${EVENTS / 100} calls)`)
  await store.close()

  // Delivery side: a fresh store with a backlog spread over 64 keys, then over 10,000 keys.
  for (const keys of [64, 10_000]) {
    const leaseUrl = url.startsWith('postgres') ? url.replace(/schema=[^&]+/, `schema=bench_lease_${keys}_${Date.now()}`) : path.join(dir, `lease-${keys}.db`)
    if (leaseUrl.startsWith('postgres')) pgSchemas.push(leaseUrl)
    store = await openStore(leaseUrl)
    for (const b of batches(BACKLOG, 500, keys)) await store.enqueue(b)
    const measured = Math.min(BACKLOG, 20_000)
    row(`lease+complete, ${BACKLOG / 1000}k backlog over ${keys} keys, 4 workers x 64`, await leaseComplete(store, measured, 4, 64))
    await store.close()
  }
}

const pgSchemas: string[] = []
async function dropSchemas(): Promise<void> {
  const client = new pg.Client({ connectionString: PG })
  await client.connect()
  for (const url of pgSchemas) await client.query(`DROP SCHEMA IF EXISTS "${new URL(url).searchParams.get('schema')}" CASCADE`)
  await client.end()
}

async function main(): Promise<void> {
  console.log(`store bench${quick ? ' (quick: a smoke check, not a measurement)' : ''}: ${EVENTS} events per enqueue run, ${BACKLOG} backlog for lease runs`)
  console.log(dist.describe())
  console.log(machineLine())
  const baseline = rawBaseline(EVENTS)
  console.log(`baseline raw better-sqlite3 inserts, 100 per transaction: ${baseline} ev/s`)
  // CPU alone (no disk): the engine in memory against raw inserts in memory.
  const memoryBaseline = rawBaseline(EVENTS, ':memory:')
  const memoryStore = await openStore(':memory:')
  const memoryRate = await enqueueSequential(memoryStore, EVENTS)
  await memoryStore.close()
  console.log(`cpu only: raw inserts in memory ${memoryBaseline} ev/s; sqlite engine in memory, 100-event batches one at a time ${memoryRate} ev/s = ${(memoryRate / memoryBaseline).toFixed(2)}x`)
  if (ENGINES.includes('sqlite')) await engineRun('sqlite', path.join(dir, 'store.db'), baseline)
  if (PG && ENGINES.includes('postgres')) {
    const url = `${PG}${PG.includes('?') ? '&' : '?'}schema=bench_${Date.now()}`
    pgSchemas.push(url)
    try {
      await engineRun('postgres', url, baseline)
    } finally {
      await dropSchemas()
    }
  } else console.log('postgres: skipped (pass --pg URL or set CSB_RELAY_TEST_PG)')
  fs.rmSync(dir, { recursive: true, force: true })
}

void main().catch((error) => {
  console.error(error)
  process.exit(1)
})
