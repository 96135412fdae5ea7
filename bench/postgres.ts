/**
 * Scale-out benchmark: ingest and delivery throughput of the built relay (`csb-relay start`,
 * separate processes) with one and two instances on PostgreSQL, beside one on SQLite, in one run.
 *
 *   npm run bench:postgres                     (builds first)
 *   npx tsx bench/postgres.ts [--events N] [--rounds N] [--latency MS] [--concurrency N] [--clients N] [--seconds S] [--users N]
 *
 * Uses CSB_RELAY_TEST_PG when set (each scenario gets its own database), else starts a throwaway
 * PostgreSQL with scripts/pg-throwaway.sh and stops it at the end. Loopback only.
 *
 * Per scenario, on a fresh store:
 * - ingest: the instances run without CSB settings (events are stored and held); `--clients`
 *   keep-alive connections post 100-event batches to /v1/batch, alternating between the
 *   instances, until `--events` are accepted or `--seconds` pass; `--rounds` times (default 3).
 *   Accepted events/s, the median of the rounds.
 * - delivery: the instances restart with CSB pointing at the sandbox process (fixed latency
 *   `--latency`, default 20 ms) and `--concurrency` requests in flight per instance (default 64,
 *   not adaptive). Delivered events/s (the sum of the instances' delivered counters) from the
 *   moment every instance is up until the backlog is delivered or `--seconds` pass; the median of
 *   the rates in 5-second windows after the first (warm-up).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { Client } from 'pg'

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    latency: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '64' },
    clients: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '45' },
    rounds: { type: 'string', default: '3' },
    users: { type: 'string', default: '2000' }
  }
})
const EVENTS = Number(args.events)
const LATENCY_MS = Number(args.latency)
const CONCURRENCY = Number(args.concurrency)
const CLIENTS = Number(args.clients)
const MAX_SECONDS = Number(args.seconds)
const ROUNDS = Number(args.rounds)
const WINDOW_MS = 5000
const USERS = Number(args.users)
const BATCH = 100

const ROOT = path.resolve(__dirname, '..')
const BIN = path.join(ROOT, 'bin', 'csb-relay.js')
const WRITE_KEY = `wk_bench_${randomBytes(6).toString('hex')}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ---- processes --------------------------------------------------------------------------------

interface Proc {
  child: ChildProcess
  url: string
  out: () => string
}

function spawnCli(args: string[], env: Record<string, string>, ready: RegExp): Promise<Proc> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start:\n${out}`)), 30_000)
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = ready.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ child, url: m[1]!, out: () => out })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${args[0]} exited with ${code}:\n${out}`))
    })
  })
}

function stop(proc: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    proc.child.once('exit', () => resolve())
    proc.child.kill(signal)
  })
}

interface Sandbox extends Proc {
  apiKey: string
}

async function startSandbox(): Promise<Sandbox> {
  const proc = await spawnCli(['sandbox', '--port', '0', '--quiet', '--record-limit', '1000', '--latency', String(LATENCY_MS)], {}, /listening on (http:\/\/\S+)/)
  await sleep(50)
  return { ...proc, apiKey: /API key: (\S+)/.exec(proc.out())?.[1] ?? 'sandbox-key' }
}

function startRelay(db: string, dir: string, sandbox: Sandbox | null): Promise<Proc> {
  const config = {
    ingest: { maxBacklog: 10_000_000 },
    delivery: { maxConcurrency: CONCURRENCY, initialConcurrency: CONCURRENCY, adaptive: false, pollIntervalMs: 10 }
  }
  const file = path.join(dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify(config))
  const env: Record<string, string> = { CSB_RELAY_WRITE_KEYS: WRITE_KEY }
  if (sandbox) Object.assign(env, { CSB_API_KEY: sandbox.apiKey, CSB_BASE_URL: sandbox.url })
  return spawnCli(['start', '--port', '0', '--db', db, '--config', file], env, /listening on (http:\/\/\S+)/)
}

// ---- PostgreSQL -------------------------------------------------------------------------------

interface Postgres {
  server: string
  /** A new database; returns its URL and how to drop it. */
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

function postgres(): Postgres {
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

// ---- load -------------------------------------------------------------------------------------

function batchBody(b: number): string {
  const now = new Date().toISOString()
  const batch = Array.from({ length: BATCH }, (_, i) => {
    const n = b * BATCH + i
    const userId = `user-${n % USERS}`
    return {
      type: 'track',
      messageId: `${WRITE_KEY}-${n}-${randomBytes(4).toString('hex')}`,
      userId,
      event: 'Report Exported',
      properties: { account_id: `acc-${n % 97}`, format: 'csv', rows: n % 1000 },
      context: { library: { name: 'analytics-node', version: '3.1.0' } },
      timestamp: now
    }
  })
  return JSON.stringify({ batch })
}

function post(agent: http.Agent, base: string, body: string): Promise<number> {
  const url = new URL('/v1/batch', base)
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`
        }
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      }
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** Fixed concurrency, bounded by count and time; returns accepted events and seconds. */
async function ingest(targets: string[]): Promise<{ accepted: number; seconds: number }> {
  const agents = targets.map(() => new http.Agent({ keepAlive: true, maxSockets: CLIENTS }))
  const totalBatches = Math.ceil(EVENTS / BATCH)
  let next = 0
  let accepted = 0
  const started = performance.now()
  const deadline = started + MAX_SECONDS * 1000
  const client = async (c: number) => {
    for (let b = next++; b < totalBatches && performance.now() < deadline; b = next++) {
      const t = (b + c) % targets.length
      const status = await post(agents[t]!, targets[t]!, batchBody(b))
      if (status !== 200) throw new Error(`ingest: HTTP ${status} from ${targets[t]}`)
      accepted += BATCH
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)))
  const seconds = (performance.now() - started) / 1000
  agents.forEach((a) => a.destroy())
  return { accepted, seconds }
}

/** Sums the samples of one metric on an instance's /metrics (optionally only lines containing `having`). */
async function metric(relay: Proc, name: string, having = ''): Promise<number> {
  let text = ''
  for (let attempt = 1; ; attempt++) {
    try {
      text = await (await fetch(`${relay.url}/metrics`)).text()
      break
    } catch (err) {
      // A reused keep-alive connection can be reset; a relay that died is a result to report.
      if (relay.child.exitCode !== null || relay.child.signalCode !== null || attempt === 3) {
        throw new Error(`cannot read ${relay.url}/metrics (${(err as Error).message}); relay output:\n${relay.out().slice(-2000)}`)
      }
      await sleep(100)
    }
  }
  let sum = 0
  for (const line of text.split('\n')) {
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(having)) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}
const sumOver = async (relays: Proc[], name: string, having = '') =>
  (await Promise.all(relays.map((r) => metric(r, name, having)))).reduce((a, b) => a + b, 0)
const deliveredSum = (relays: Proc[]) => sumOver(relays, 'csb_relay_delivery_outcomes_total', 'outcome="delivered"')
/** CPU seconds the relay processes used (user + system), from their own process metrics. */
const cpuSum = (relays: Proc[]) => sumOver(relays, 'csb_relay_process_cpu_seconds_total')

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

// ---- scenarios --------------------------------------------------------------------------------

interface Result {
  name: string
  ingestPerSecond: number
  deliveryPerSecond: number
  /** Relay CPU (all instances, user + system) per event, in ms. */
  ingestCpuMs: number
  deliveryCpuMs: number
  detail: string
}

async function scenario(name: string, instances: number, db: string, sandbox: Sandbox): Promise<Result> {
  const dirs = Array.from({ length: instances }, () => fs.mkdtempSync(path.join(os.tmpdir(), 'csb-bench-pg-')))
  let relays: Proc[] = []
  try {
    // Ingest: no CSB settings, so nothing is delivered meanwhile. The first instance migrates.
    relays.push(await startRelay(db, dirs[0]!, null))
    for (let i = 1; i < instances; i++) relays.push(await startRelay(db, dirs[i]!, null))
    // Several rounds, the median counts: the machine may be shared, and a round is short.
    const ingestCpu0 = await cpuSum(relays)
    const rounds: Array<{ accepted: number; seconds: number }> = []
    for (let r = 0; r < ROUNDS; r++) rounds.push(await ingest(relays.map((relay) => relay.url)))
    const ingestCpu = (await cpuSum(relays)) - ingestCpu0
    const accepted = rounds.reduce((a, r) => a + r.accepted, 0)
    const ingestRates = rounds.map((r) => r.accepted / r.seconds)
    await Promise.all(relays.map((r) => stop(r)))

    // Delivery: restart with CSB set; from "all up" to "all delivered" or the time bound. The
    // figure is the median of the 5-second windows' rates after the first (the mean over the phase is printed too).
    relays = await Promise.all(dirs.map((d) => startRelay(db, d, sandbox)))
    const t0 = performance.now()
    const [d0, deliveryCpu0] = [await deliveredSum(relays), await cpuSum(relays)]
    let delivered = d0
    let windowStart = { at: t0, delivered: d0 }
    const windowRates: number[] = []
    while (delivered < accepted && performance.now() - t0 < MAX_SECONDS * 1000) {
      await sleep(100)
      delivered = await deliveredSum(relays)
      const now = performance.now()
      if (now - windowStart.at >= WINDOW_MS) {
        windowRates.push(((delivered - windowStart.delivered) * 1000) / (now - windowStart.at))
        windowStart = { at: now, delivered }
      }
    }
    const seconds = (performance.now() - t0) / 1000
    const meanDelivery = (delivered - d0) / seconds
    const deliveryCpu = (await cpuSum(relays)) - deliveryCpu0
    // Store round trips of delivery (over the whole phase): how many lease calls per delivered
    // event, and their mean duration, show contention between instances.
    const op = async (operation: string) => {
      const having = `operation="${operation}"`
      const [count, sum] = [await sumOver(relays, 'csb_relay_store_operation_seconds_count', having), await sumOver(relays, 'csb_relay_store_operation_seconds_sum', having)]
      return `${operation} ${(count / Math.max(1, delivered)).toFixed(2)}/event, ${count > 0 ? ((sum / count) * 1000).toFixed(1) : '-'} ms mean`
    }
    const storeOps = `${await op('lease')}; ${await op('complete')}`
    await Promise.all(relays.map((r) => stop(r)))
    // Errors the relays logged (LOG_LEVEL=warn) would explain odd figures: show the first of each.
    for (const [i, r] of relays.entries()) {
      const problem = r.out().split('\n').find((line) => /"level":(40|50|60)/.test(line))
      if (problem) console.log(`${name}, instance ${i + 1} logged: ${problem.slice(0, 400)}`)
    }
    return {
      name,
      ingestPerSecond: median(ingestRates),
      // The first window is warm-up (connections, JIT, the first leases) unless it is the only one.
      deliveryPerSecond: windowRates.length > 1 ? median(windowRates.slice(1)) : windowRates.length === 1 ? windowRates[0]! : meanDelivery,
      ingestCpuMs: (ingestCpu * 1000) / accepted,
      deliveryCpuMs: (deliveryCpu * 1000) / Math.max(1, delivered - d0),
      detail:
        `ingest rounds ${ingestRates.map((r) => Math.round(r)).join(', ')} ev/s (${accepted} events); ` +
        `delivered ${delivered - d0} in ${seconds.toFixed(1)} s, mean ${Math.round(meanDelivery)} ev/s, ` +
        `relay CPU ${(deliveryCpu / seconds).toFixed(2)} cores, ` +
        `5 s windows ${windowRates.map((r) => Math.round(r)).join(', ')} ev/s; store calls: ${storeOps}`
    }
  } finally {
    await Promise.all(relays.map((r) => stop(r, 'SIGKILL')))
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  }
}

async function main() {
  const pg = postgres()
  const sandbox = await startSandbox()
  const results: Result[] = []
  try {
    console.log(
      `csb-relay bench:postgres: ingest ${ROUNDS} x ${EVENTS} events (${BATCH}/batch, ${USERS} users), ${CLIENTS} client connections; ` +
        `delivery to the sandbox process at ${LATENCY_MS} ms latency, concurrency ${CONCURRENCY} per instance; time bound ${MAX_SECONDS} s per phase`
    )
    console.log(`node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)

    const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-bench-sqlite-'))
    try {
      results.push(await scenario('SQLite, 1 instance', 1, path.join(sqliteDir, 'relay.db'), sandbox))
    } finally {
      fs.rmSync(sqliteDir, { recursive: true, force: true })
    }
    for (const n of [1, 2]) {
      const db = await pg.database()
      try {
        results.push(await scenario(`PostgreSQL, ${n} instance${n > 1 ? 's' : ''}`, n, db.url, sandbox))
      } finally {
        await db.drop()
      }
    }

    const w = Math.max(...results.map((r) => r.name.length))
    const cols = ['ingest ev/s', 'delivery ev/s', 'relay CPU ms/ev ingest', 'relay CPU ms/ev delivery']
    console.log([`${'store'.padEnd(w)}`, ...cols].join('  '))
    for (const r of results) {
      const cells = [Math.round(r.ingestPerSecond), Math.round(r.deliveryPerSecond), r.ingestCpuMs.toFixed(2), r.deliveryCpuMs.toFixed(2)]
      console.log([r.name.padEnd(w), ...cells.map((c, i) => String(c).padStart(cols[i]!.length))].join('  '))
    }
    console.log('')
    for (const r of results) console.log(`${r.name}: ${r.detail}`)
    const [sqlite, pg1, pg2] = results as [Result, Result, Result]
    const ratio = (a: number, b: number) => (a / b).toFixed(2)
    console.log('')
    console.log(`PG-1 / SQLite: ingest ${ratio(pg1.ingestPerSecond, sqlite.ingestPerSecond)}, delivery ${ratio(pg1.deliveryPerSecond, sqlite.deliveryPerSecond)}`)
    console.log(`PG-2 / PG-1:   ingest ${ratio(pg2.ingestPerSecond, pg1.ingestPerSecond)}, delivery ${ratio(pg2.deliveryPerSecond, pg1.deliveryPerSecond)}`)
    console.log(`(${os.cpus().length} CPUs shared by the relays, PostgreSQL, the sandbox and this load generator; load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`)
  } finally {
    await stop(sandbox)
    pg.stop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
