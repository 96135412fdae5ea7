/**
 * Delivery benchmark against the sandbox running as its own process (`csb-relay sandbox`), with
 * its baseline measured in the same run:
 *
 *   npm run bench:delivery            (builds first; the bench runs the built dist/)
 *   npx tsx bench/delivery.ts [--latency MS] [--concurrency N] [--events N] [--rate N] [--seconds S] [--threads N] [--only NAME] [--cpu-prof DIR]
 *
 * Scenarios (add one by appending to SCENARIOS; each gets a fresh SQLite file store), after an
 * unprinted warm-up of 3,000 events:
 * - throughput: N events preloaded, delivered with a fixed concurrency; delivered events/s beside
 *   the bound concurrency / latency, where latency is the sandbox's round trip measured just before.
 * - request client alone: actions-core's request client sending the same requests at the same
 *   concurrency, no relay around it: the ceiling of the HTTP path on this machine in this run.
 * - steady: events stored at a steady rate (delivery woken after each store, as the relay's ingest
 *   does); end-to-end latency (receivedAt → outcome recorded) p50/p95/p99, and whether the relay kept
 *   up (if not, the figure measures a queue, and the verdict line says so).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import { Session } from 'node:inspector'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type * as DeliveryModule from '../src/delivery'
import type { DeliveryConfig, OutcomeReport } from '../src/delivery'
import type * as RoutingModule from '../src/delivery/routing'
import type * as StoreModule from '../src/store'
import type { NewEvent, Store } from '../src/store'

// The built relay (dist/, as `csb-relay` runs it; `npm run bench:delivery` builds first), not the
// TypeScript sources through tsx, whose transform adds work of its own (e.g. a `__name` call for
// each closure created) and runs the store's worker thread through tsx too.
const DIST = path.resolve(__dirname, '../dist')
if (!fs.existsSync(path.join(DIST, 'delivery/index.js'))) {
  console.error('bench/delivery: dist/ is missing; run `npx tsc -p tsconfig.build.json` (or `npm run bench:delivery`) first')
  process.exit(1)
}
const { startDelivery, deliveryDefaults } = require(path.join(DIST, 'delivery')) as typeof DeliveryModule
const { openStore } = require(path.join(DIST, 'store')) as typeof StoreModule

const { values: args } = parseArgs({
  options: {
    latency: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '64' },
    events: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    // Run only the scenarios whose name contains this text (e.g. --only throughput).
    only: { type: 'string', default: '' },
    // Write a CPU profile of the main thread while each throughput scenario delivers (not while it preloads) into this directory.
    'cpu-prof': { type: 'string', default: '' },
    // Worker threads running the destination (the relay's CSB_RELAY_DELIVERY_THREADS; default 0).
    threads: { type: 'string', default: process.env.CSB_RELAY_DELIVERY_THREADS || '0' }
  }
})
const LATENCY_MS = Number(args.latency)
const CONCURRENCY = Number(args.concurrency)
const EVENTS_DEFAULT = Number(args.events)
const RATE = Number(args.rate)
const SECONDS = Number(args.seconds)
const THREADS = Number(args.threads)

/** Starts the main thread's CPU profiler when --cpu-prof DIR is given; the returned function stops it and writes DIR/NAME.cpuprofile. */
async function startCpuProfile(name: string): Promise<() => Promise<void>> {
  const dir = args['cpu-prof']
  if (!dir) return async () => {}
  const session = new Session()
  session.connect()
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))))
  await post('Profiler.enable')
  await post('Profiler.start')
  return async () => {
    const { profile } = await post('Profiler.stop')
    session.disconnect()
    fs.mkdirSync(dir, { recursive: true })
    const file = path.join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`)
    fs.writeFileSync(file, JSON.stringify(profile))
    console.log(`  (CPU profile of the main thread: ${file})`)
  }
}

const silent = { info() {}, warn() {}, error() {}, debug() {} }

interface SandboxProcess {
  url: string
  apiKey: string
  child: ChildProcess
}

async function startSandboxProcess(latencyMs: number): Promise<SandboxProcess> {
  const bin = path.resolve(__dirname, '../bin/csb-relay.js')
  const child = spawn(process.execPath, [bin, 'sandbox', '--port', '0', '--latency', String(latencyMs), '--quiet', '--record-limit', '1000'], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox did not start: ${out}`)), 15_000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
  })
  const key = /API key: (\S+)/.exec(out)?.[1] ?? 'sandbox-key'
  return { url, apiKey: key, child }
}

/** Mean round trip of one CSB request to the sandbox, sequential (the latency in the bound). */
async function measureRoundTrip(sandbox: SandboxProcess, n = 50): Promise<number> {
  const body = JSON.stringify({ account_id: 'a', user_id: 'u' })
  const headers = { authorization: `Bearer ${sandbox.apiKey}`, 'content-type': 'application/json' }
  const started = performance.now()
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${sandbox.url}/api/v1_1/user`, { method: 'POST', headers, body })
    await res.text()
  }
  return (performance.now() - started) / n
}

/** Events numbered on from the last call, so that successive calls cycle through all `keys` users. */
let eventCounter = 0
function trackEvents(n: number, keys: number): NewEvent[] {
  const now = new Date()
  return Array.from({ length: n }, () => {
    const i = eventCounter++
    const userId = `user-${i % keys}`
    const messageId = randomUUID()
    const event = {
      type: 'track',
      messageId,
      userId,
      event: 'Report Exported',
      properties: { account_id: `acc-${i % 97}` },
      timestamp: now.toISOString(),
      receivedAt: now.toISOString()
    }
    return { source: 'bench', messageId, orderingKey: userId, type: 'track', event, receivedAt: new Date() }
  })
}

interface Context {
  sandbox: SandboxProcess
  roundTripMs: number
  openStore(): Promise<Store>
}

interface Scenario {
  name: string
  run(ctx: Context): Promise<Record<string, string | number>>
}

function config(sandbox: SandboxProcess, delivery: Partial<DeliveryConfig['delivery']>, extra: Partial<DeliveryConfig> = {}): DeliveryConfig {
  return {
    csb: { apiKey: sandbox.apiKey, baseUrl: sandbox.url },
    delivery: { ...deliveryDefaults, ...delivery },
    ...extra
  }
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); NaN elsewhere. */
function procCpuSeconds(pid: number | undefined, file = `/proc/${pid}/stat`): number {
  try {
    const fields = fs.readFileSync(file, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}

/** CPU seconds this process's main thread has used (Linux; NaN elsewhere): without store or delivery worker threads. */
function mainThreadCpuSeconds(): number {
  return procCpuSeconds(process.pid, `/proc/${process.pid}/task/${process.pid}/stat`)
}

/** CPU seconds per thread of this process other than the main thread (Linux; empty elsewhere), by thread id. */
function otherThreadsCpuSeconds(): Map<string, number> {
  const out = new Map<string, number>()
  try {
    for (const tid of fs.readdirSync(`/proc/${process.pid}/task`)) {
      if (tid !== String(process.pid)) out.set(tid, procCpuSeconds(undefined, `/proc/${process.pid}/task/${tid}/stat`))
    }
  } catch {}
  return out
}

/** CPU seconds the whole machine has been busy (all processes; /proc/stat, Linux), NaN elsewhere. */
function machineBusySeconds(): number {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0)
    return (total - fields[3] - fields[4]) / 100
  } catch {
    return NaN
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

/** Delivered events/s with a fixed concurrency, beside the bound concurrency / round trip. */
function throughputScenario(name: string, extra: Partial<DeliveryConfig> = {}, events: number = EVENTS_DEFAULT): Scenario {
  return {
    name,
    async run(ctx) {
      const store = await ctx.openStore()
      for (let i = 0; i < events; i += 2000) await store.enqueue(trackEvents(Math.min(2000, events - i), events))
      let delivered = 0
      // Store calls' round trips as the pipeline sees them (call to answer, main-thread waits included), by verb.
      const storeMs = new Map<string, number[]>()
      let done!: () => void
      const finished = new Promise<void>((resolve) => (done = resolve))
      const stopProfile = name === 'warm-up' ? async () => {} : await startCpuProfile(name)
      const cpu = process.cpuUsage()
      const mainCpu0 = mainThreadCpuSeconds()
      const threads0 = otherThreadsCpuSeconds()
      const sandboxCpu0 = procCpuSeconds(ctx.sandbox.child.pid)
      const machine0 = machineBusySeconds()
      const started = performance.now()
      const delivery = startDelivery({
        store,
        config: config(ctx.sandbox, { adaptive: false, maxConcurrency: CONCURRENCY, initialConcurrency: CONCURRENCY }, extra),
        logger: silent,
        threads: THREADS,
        observer: {
          outcome: (r: OutcomeReport) => {
            if (r.outcome === 'delivered' && ++delivered === events) done()
          },
          storeLatency: (operation: string, seconds: number) => {
            const list = storeMs.get(operation) ?? []
            list.push(seconds * 1000)
            storeMs.set(operation, list)
          }
        }
      })
      await finished
      const seconds = (performance.now() - started) / 1000
      const used = process.cpuUsage(cpu)
      const cpuMsPerEvent = (used.user + used.system) / 1000 / events
      const mainCpuMsPerEvent = ((mainThreadCpuSeconds() - mainCpu0) * 1000) / events
      // The busiest other threads (the store's worker thread is usually the first; then V8's GC helpers and libuv's pool).
      const busiest = [...otherThreadsCpuSeconds()]
        .map(([tid, sec]) => ((sec - (threads0.get(tid) ?? 0)) * 1000) / events)
        .sort((a, b) => b - a)
      const sandboxShare = (procCpuSeconds(ctx.sandbox.child.pid) - sandboxCpu0) / seconds
      const machineShare = (machineBusySeconds() - machine0) / seconds
      await stopProfile()
      await delivery.stop()
      await store.close()
      const perSecond = events / seconds
      const bound = CONCURRENCY / (ctx.roundTripMs / 1000)
      return {
        events: events,
        seconds: seconds.toFixed(2),
        'delivered/s': Math.round(perSecond),
        [`bound ${CONCURRENCY}/${ctx.roundTripMs.toFixed(1)}ms`]: Math.round(bound),
        'ratio (target >= 0.80)': (perSecond / bound).toFixed(2),
        'relay CPU ms/event': cpuMsPerEvent.toFixed(2),
        // The delivery pipeline and destination (unless --threads); the rest is the store's and other threads'.
        '  of which main thread': mainCpuMsPerEvent.toFixed(2),
        '  other threads, busiest first': `${busiest.slice(0, 3).map((ms) => ms.toFixed(2)).join(', ')} (+${busiest.slice(3).reduce((a, b) => a + b, 0).toFixed(2)} in ${Math.max(0, busiest.length - 3)} more)`,
        'CPU-bound ceiling/s (1 core)': Math.round(1000 / cpuMsPerEvent),
        // Below 1 while delivered/s is below the bound: the relay waited for a CPU (other processes).
        'relay CPU share of wall': ((used.user + used.system) / 1e6 / seconds).toFixed(2),
        'sandbox CPU share of wall': sandboxShare.toFixed(2),
        // The rest of the machine's busy CPU (other processes, the kernel's own work): what the run competed with.
        'other processes CPU share': (machineShare - (used.user + used.system) / 1e6 / seconds - sandboxShare).toFixed(2),
        'time per request ms (Little)': ((CONCURRENCY / perSecond) * 1000).toFixed(1),
        // Part of that time: an event's slot is held until its outcome is committed (complete).
        'store calls: n, p50/p90 ms': [...storeMs]
          .map(([verb, ms]) => {
            ms.sort((a, b) => a - b)
            return `${verb} ${ms.length}, ${percentile(ms, 50).toFixed(1)}/${percentile(ms, 90).toFixed(1)}`
          })
          .join('; ')
      }
    }
  }
}

/** End-to-end latency (stored → delivered) with events arriving at a steady rate. */
function steadyScenario(name: string, extra: Partial<DeliveryConfig> = {}, rate: number = RATE): Scenario {
  return {
    name,
    async run(ctx) {
      const store = await ctx.openStore()
      const latencies: number[] = []
      const total = rate * SECONDS
      let done!: () => void
      const finished = new Promise<void>((resolve) => (done = resolve))
      const delivery = startDelivery({
        store,
        config: config(ctx.sandbox, {}, extra),
        logger: silent,
        threads: THREADS,
        observer: {
          outcome: (r: OutcomeReport) => {
            if (r.outcome === 'delivered' && typeof r.endToEndMs === 'number' && latencies.push(r.endToEndMs) === total) done()
          }
        }
      })
      // Every 10 ms, the events due by then (a steady RATE per second), each with its own receivedAt;
      // then wake delivery, as the relay does when ingest has stored events.
      const tickMs = 10
      const cpu = process.cpuUsage()
      const started = performance.now()
      let sent = 0
      while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate))
        if (due > sent) {
          await store.enqueue(trackEvents(due - sent, 5000))
          sent = due
          delivery.wake()
        }
        await new Promise((r) => setTimeout(r, tickMs))
      }
      const sendSeconds = (performance.now() - started) / 1000
      const deliveredWhileSending = latencies.length
      const sendCpu = process.cpuUsage(cpu)
      await finished
      const stats = delivery.stats()
      await delivery.stop()
      await store.close()
      latencies.sort((a, b) => a - b)
      // Kept up: at the end of sending, no more than half a second's worth of events were waiting.
      const backlog = total - deliveredWhileSending
      const keptUp = backlog <= rate / 2
      const cpuShare = (sendCpu.user + sendCpu.system) / 1e6 / sendSeconds
      return {
        events: total,
        'offered/s': Math.round(total / sendSeconds),
        'delivered/s while sending': Math.round(deliveredWhileSending / sendSeconds),
        'backlog when sending ended': backlog,
        // Store enqueue included (the bench stores the events itself, as ingest would).
        'relay CPU ms/event': ((sendCpu.user + sendCpu.system) / 1000 / deliveredWhileSending).toFixed(2),
        'relay CPU share of wall': cpuShare.toFixed(2),
        'p50 ms': percentile(latencies, 50),
        'p95 ms (target < 150)': percentile(latencies, 95),
        'p99 ms': percentile(latencies, 99),
        'sandbox round trip ms': Number(ctx.roundTripMs.toFixed(1)),
        'final concurrency': stats.concurrency,
        verdict: keptUp
          ? 'kept up: p95 is the pipeline latency (receivedAt -> outcome recorded)'
          : `FELL BEHIND (${cpuShare >= 0.9 ? 'CPU-saturated' : 'waited for CPU or the store'}): p95 measures a growing queue, not the pipeline`
      }
    }
  }
}

/**
 * actions-core's request client alone (one client built per request, as actions-core does per run;
 * the relay now shares one across runs, so this builds more than the relay's path does; the same
 * headers, JSON body and timeout), at the same concurrency against the same sandbox: no
 * store, mapping, validation or capture. What the HTTP path alone reaches on this machine in this
 * run, the relay's ceiling; the throughput scenario's delivered/s read beside it.
 */
function requestClientScenario(requests = 10_000): Scenario {
  return {
    name: `request client alone (actions-core, concurrency ${CONCURRENCY}, no relay)`,
    async run(ctx) {
      const { createRequestClient } = require('@segment/actions-core') as typeof import('@segment/actions-core')
      const headers = { Authorization: `Bearer ${ctx.sandbox.apiKey}`, 'Content-Type': 'application/json', Accept: 'application/json' }
      const url = `${ctx.sandbox.url}/api/v1_1/feature`
      let failed = 0
      const one = async (i: number) => {
        const request = createRequestClient({ headers }, { timeout: deliveryDefaults.requestTimeoutMs })
        const json = { account_id: `acc-${i % 97}`, user_id: `user-${i}`, product_id: 'Default Product', module_id: 'Default Module', feature_id: 'Report Exported', total: 1, type: 'feature', timestamp: new Date().toISOString() }
        const res = await request(url, { method: 'POST', json, throwHttpErrors: false })
        if (res.status !== 200) failed++
      }
      const runAll = async (n: number) => {
        let next = 0
        await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
          while (next < n) await one(next++)
        }))
      }
      await runAll(1000) // warm-up
      const cpu = process.cpuUsage()
      const started = performance.now()
      await runAll(requests)
      const seconds = (performance.now() - started) / 1000
      const used = process.cpuUsage(cpu)
      const bound = CONCURRENCY / (ctx.roundTripMs / 1000)
      return {
        requests,
        'requests/s': Math.round(requests / seconds),
        'ratio to the bound': (requests / seconds / bound).toFixed(2),
        'CPU ms/request': ((used.user + used.system) / 1000 / requests).toFixed(2),
        'time per request ms (Little)': ((CONCURRENCY / (requests / seconds)) * 1000).toFixed(1),
        'answers other than 200': failed
      }
    }
  }
}

/** Append scenarios here (e.g. the same run with routing filters) to compare in one run. */
const SCENARIOS: Scenario[] = [
  throughputScenario('throughput, no filters'),
  requestClientScenario(),
  steadyScenario(`steady ${RATE}/s, no filters`),
  // The same at a fifth of the rate: the pipeline's own latency when CPU is not the limit.
  steadyScenario(`steady ${Math.round(RATE / 5)}/s, no filters`, {}, Math.round(RATE / 5))
]

// Routing (docs/routing.md): the throughput scenario with three destination filters in force
// beside none, in this run, in ABBA order to even out drift; ratios are three / none. Then
// route() alone on the same events (with an email to remove), against the relay's CPU per event.
const ROUTING_FILTERS = [
  { name: 'no internal', drop: 'properties.internal = true' },
  { name: 'tracks and identifies', keep: 'type = "track" or type = "identify"' },
  { name: 'no PII', block: ['traits.email', 'context.traits.email', 'properties.email'] }
]
SCENARIOS.push({
  name: 'routing: three filters beside none (throughput, ABBA)',
  async run(ctx) {
    const runs: Record<'none' | 'three', Array<Record<string, string | number>>> = { none: [], three: [] }
    for (const which of ['none', 'three', 'three', 'none'] as const) {
      runs[which].push(await throughputScenario(which, which === 'three' ? { filters: ROUTING_FILTERS } : {}).run(ctx))
    }
    const mean = (which: 'none' | 'three', key: string) => runs[which].reduce((sum, r) => sum + Number(r[key]), 0) / runs[which].length
    const { createRouter } = require(path.join(DIST, 'delivery/routing')) as typeof RoutingModule
    const router = createRouter(ROUTING_FILTERS)
    const events = trackEvents(1000, 100).map((e) => ({ ...e.event, properties: { ...(e.event.properties as object), email: 'a@example.test' } }))
    for (const e of events) router.route(e) // warm up
    const started = process.hrtime.bigint()
    for (let round = 0; round < 200; round++) for (const e of events) router.route(e)
    const routeMs = Number(process.hrtime.bigint() - started) / 1e6 / (200 * events.length)
    const cpuNone = mean('none', 'relay CPU ms/event')
    return {
      'delivered/s, no filters': Math.round(mean('none', 'delivered/s')),
      'delivered/s, three filters': Math.round(mean('three', 'delivered/s')),
      'throughput ratio three/none': (mean('three', 'delivered/s') / mean('none', 'delivered/s')).toFixed(3),
      'relay CPU ms/event, none': cpuNone.toFixed(2),
      'relay CPU ms/event, three': mean('three', 'relay CPU ms/event').toFixed(2),
      'route() alone, µs/event': (routeMs * 1000).toFixed(2),
      'route() share of CPU/event': `${((routeMs / cpuNone) * 100).toFixed(2)}%`
    }
  }
})

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-bench-delivery-'))
  const sandbox = await startSandboxProcess(LATENCY_MS)
  let n = 0
  try {
    await measureRoundTrip(sandbox, 10) // warm up
    const roundTripMs = await measureRoundTrip(sandbox)
    console.log(`sandbox: ${sandbox.url} (own process), latency ${LATENCY_MS} ms; measured round trip ${roundTripMs.toFixed(1)} ms`)
    const built = fs.statSync(path.join(DIST, 'delivery/pipeline.js')).mtime.toISOString()
    console.log(`code: ${DIST} (built ${built})`)
    console.log(`store: SQLite file (WAL; every group commit synced to disk before it is acknowledged) in ${dir}; node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; delivery worker threads: ${THREADS}\n`)
    const ctx: Context = { sandbox, roundTripMs, openStore: () => openStore(path.join(dir, `bench-${++n}.db`)) }
    // Warm-up (not printed): a relay that has run a while has its code compiled; the first
    // scenario should not pay for that alone.
    await throughputScenario('warm-up', {}, Math.min(3000, EVENTS_DEFAULT)).run(ctx)
    for (const scenario of SCENARIOS.filter((s) => s.name.includes(args.only ?? ''))) {
      const result = await scenario.run(ctx)
      console.log(`== ${scenario.name}`)
      for (const [k, v] of Object.entries(result)) console.log(`  ${k.padEnd(30)} ${v}`)
      console.log('')
    }
  } finally {
    sandbox.child.kill('SIGTERM')
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
