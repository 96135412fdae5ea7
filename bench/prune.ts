/**
 * One prune of the SQLite store: what it costs and what it leaves readable in the files.
 *   npx tsx bench/prune.ts [--events N] [--dist PATH] [--quick]
 * Fills a store as the relay does (batches of 100 admitted through the inbox and moved, leased,
 * 90% delivered with samples, 10% dead-lettered), half of it two hours ago, half now, each event
 * with a unique marker in its traits. Then one prune with a one-hour retention for delivered
 * events (dead letters: 30 days, so they stay, interleaved with what goes): its time, the bytes
 * the process wrote meanwhile, and how many pruned events' markers are still in a file of the
 * store (after the checkpoint the relay runs next). The fill's own time and bytes show what the
 * store's settings cost the hot path. Run it with `--dist` of another checkout to compare;
 * `--vacuum` adds what a VACUUM after the prune costs and leaves.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type * as StoreModule from '../src/store'
import type { NewEvent, Store } from '../src/store'
import { openDist } from './lib/dist'
import { COMMON_OPTIONS, setting } from './lib/options'
import { loadLine, machineLine } from './lib/report'

const { values: args } = parseArgs({ options: { ...COMMON_OPTIONS, events: { type: 'string' }, vacuum: { type: 'boolean' } } })
const quick = args.quick ?? false
const EVENTS = setting('--events', args.events, { full: 100_000, short: 2000 }, quick, 200)
const BATCH = 100
const HOUR = 3_600_000
const dist = openDist(args.dist)
const { openStore } = dist.load<typeof StoreModule>('store')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-bench-prune-'))
const file = path.join(dir, 'relay.db')

let clock = Date.parse('2024-03-01T00:00:00Z')
let serial = 0
const marker = (n: number) => `MK${String(n).padStart(9, '0')}Z`

function makeEvent(): NewEvent {
  const n = ++serial
  const messageId = `prune-${n}`
  const userId = `user-${n % 1000}`
  return {
    source: 'bench', messageId, orderingKey: userId, type: 'identify', receivedAt: new Date(clock),
    event: {
      type: 'identify', messageId, userId,
      traits: { note: marker(n), email: `${userId}@example.com`, name: 'Ada Lovelace', plan: 'pro', seats: 12 },
      context: { library: { name: 'analytics.js', version: '5.2.0' }, ip: '203.0.113.9' },
      timestamp: new Date(clock).toISOString()
    }
  }
}

/** Bytes this process has handed to write(2) so far (the WAL, the database, nothing else here). */
const written = () => Number(/wchar: (\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))![1])
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`
const sizes = () => fs.readdirSync(dir).map((f) => `${f} ${mb(fs.statSync(path.join(dir, f)).size)}`).join(', ')

/** What the relay's engine does after its commits (checkpoint.ts), reached through the in-process store. */
const checkpoint = (store: Store) => (store as unknown as { checkpoints?: { run(): void } }).checkpoints?.run()

async function fill(store: Store, count: number): Promise<void> {
  for (let done = 0; done < count; done += BATCH) {
    await store.admit(Array.from({ length: BATCH }, makeEvent))
    // Reading moves the inbox into the queue, as the relay's mover does.
    await store.list({ limit: 1 })
    for (;;) {
      const leased = await store.lease({ limit: BATCH, leaseMs: 30_000, owner: 'bench' })
      if (leased.length === 0) break
      const dead = leased.filter((e) => Number(e.messageId.slice(6)) % 10 === 0)
      const ok = leased.filter((e) => Number(e.messageId.slice(6)) % 10 !== 0)
      const request = (e: (typeof leased)[number]) => ({ method: 'POST', url: 'https://x.customersuccessbox.com/api/v1_1/user', body: e.event })
      await store.complete(ok.map((e) => ({ id: e.id, leaseId: e.leaseId, status: 200, samples: { request: request(e), response: { status: 200, body: { success: true } } } })))
      await store.deadLetter(dead.map((e) => ({ id: e.id, leaseId: e.leaseId, reason: 'HTTP 400', status: 400, samples: { request: request(e), response: { status: 400 } } })))
    }
    checkpoint(store)
  }
}

/** Markers of events 1..upTo (the pruned half, dead letters aside) still in a file of the store. */
function prunedLeft(upTo: number): number {
  const ids = new Set<number>()
  for (const name of fs.readdirSync(dir)) {
    for (const m of fs.readFileSync(path.join(dir, name)).toString('latin1').matchAll(/MK(\d{9})Z/g)) ids.add(Number(m[1]))
  }
  let left = 0
  for (const id of ids) if (id <= upTo && id % 10 !== 0) left++
  return left
}

async function main(): Promise<void> {
  console.log(machineLine())
  console.log(dist.describe())
  const store = await openStore(`sqlite:${file}`, { sqliteInProcess: true, now: () => clock, retentionMs: HOUR, deadLetterRetentionMs: 30 * 24 * HOUR })
  const w0 = written()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await fill(store, EVENTS / 2)
  const old = serial
  clock += 2 * HOUR
  await fill(store, EVENTS / 2)
  const cpu = process.cpuUsage(cpu0)
  console.log(`== fill: ${serial} events`)
  console.log(`  seconds                     ${((performance.now() - t0) / 1000).toFixed(1)}`)
  console.log(`  CPU ms                      ${Math.round((cpu.user + cpu.system) / 1000)}`)
  console.log(`  written                     ${mb(written() - w0)}`)
  console.log(`  files                       ${sizes()}`)

  const w1 = written()
  const t1 = performance.now()
  const deleted = await store.prune()
  const ms = performance.now() - t1
  const prunedWritten = written() - w1
  const walAfter = fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0
  checkpoint(store)
  console.log('== one prune')
  console.log(`  events deleted              ${deleted}`)
  console.log(`  ms                          ${Math.round(ms)}`)
  console.log(`  written                     ${mb(prunedWritten)}`)
  console.log(`  WAL after it                ${mb(walAfter)}`)
  console.log(`  pruned events still readable ${prunedLeft(old)} of ${deleted}`)
  console.log(`  files                       ${sizes()}`)
  if (args.vacuum) {
    // What a VACUUM after the prune would add (the store's own connection, as a purge runs it).
    const db = (store as unknown as { ctx: { db: { exec(sql: string): void; pragma(sql: string): unknown } } }).ctx.db
    const w2 = written()
    const t2 = performance.now()
    db.exec('VACUUM')
    db.pragma('wal_checkpoint(TRUNCATE)')
    console.log('== VACUUM and a truncating checkpoint after it')
    console.log(`  ms                          ${Math.round(performance.now() - t2)}`)
    console.log(`  written                     ${mb(written() - w2)}`)
    console.log(`  pruned events still readable ${prunedLeft(old)} of ${deleted}`)
    console.log(`  files                       ${sizes()}`)
  }
  await store.close()
  console.log(loadLine())
  fs.rmSync(dir, { recursive: true, force: true })
}

main().catch((err) => {
  console.error(err)
  fs.rmSync(dir, { recursive: true, force: true })
  process.exit(1)
})
