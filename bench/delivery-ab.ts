/**
 * Two built relays, A and B, delivering the same backlog to the sandbox in one process, runs
 * interleaved A B B A (each round), to compare CPU per delivered event finely:
 *
 *   npx tsx bench/delivery-ab.ts --a DIST --b DIST [--rounds N] [--events N] [--concurrency N] [--latency MS]
 *     [--cpu-prof DIR] [--marks FILE] [--quick]
 *
 * `bench/delivery.ts --dist` compares two relays in separate processes, one run each; on a
 * shared machine the CPU per event of the same code drifts by a tenth or more between runs a
 * minute apart. Here short runs alternate within seconds, so drift reaches both sides alike, and
 * the paired figure (B / A of neighbouring runs) shows differences of a few percent. Each run is
 * the throughput scenario of bench/delivery.ts (every event its own ordering key, fixed
 * concurrency, a fresh SQLite file store): main-thread and whole-process CPU per delivered event,
 * and delivered/s against the bound concurrency / round trip. The two relays share the
 * process's heap and, where both dists resolve the same node_modules, those modules.
 *
 * V8's profiles (--cpu-prof) sample wall time: a thread preempted in a system call (a postMessage
 * waking the store's thread, a write waking the sandbox) is charged there. For CPU time alone,
 * run this under `perf record -k CLOCK_MONOTONIC -e cpu-clock --call-graph fp` (node with
 * --perf-basic-prof) with --marks FILE, which writes the process id and each counted run's side
 * and delivery interval in that clock (ns), to split the samples of the main thread by run.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type { OutcomeReport } from '../src/delivery'
import { mainThreadCpuSeconds } from './lib/cpu'
import { openDist } from './lib/dist'
import { setting } from './lib/options'
import { startCpuProfile } from './lib/profile'
import { machineLine } from './lib/report'
import { measureRoundTrip, startSandbox } from './lib/sandbox'
import { deliveryConfig, loadRelay, silentLogger, type DeliveryBenchContext } from './delivery/context'
import { trackEvents } from './delivery/events'

const { values: args } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    rounds: { type: 'string' },
    events: { type: 'string' },
    concurrency: { type: 'string' },
    latency: { type: 'string' },
    // A CPU profile of the main thread during each counted run's delivery: DIR/round-N-A-1.cpuprofile...
    'cpu-prof': { type: 'string', default: '' },
    marks: { type: 'string', default: '' },
    quick: { type: 'boolean', default: false }
  }
})
if (!args.a || !args.b) throw new Error('bench/delivery-ab: --a DIST and --b DIST name the two built relays (a dist/ directory each)')
const quick = args.quick ?? false
const ROUNDS = setting('--rounds', args.rounds, { full: 6, short: 1 }, quick, 1)
const EVENTS = setting('--events', args.events, { full: 6000, short: 300 }, quick, 1)
const CONCURRENCY = setting('--concurrency', args.concurrency, { full: 64, short: 64 }, quick, 1)
const LATENCY_MS = setting('--latency', args.latency, { full: 20, short: 20 }, quick)
const PRELOAD_BATCH = 2000

interface Run {
  side: 'A' | 'B'
  /** The delivery's start and end, CLOCK_MONOTONIC ns (process.hrtime). */
  span: [bigint, bigint]
  mainMs: number
  cpuMs: number
  ratio: number
}

/** One throughput run: `EVENTS` stored, then delivered; CPU per delivered event and the ratio to the bound. */
async function run(ctx: DeliveryBenchContext, side: 'A' | 'B', profile = ''): Promise<Run> {
  const store = await ctx.openStore()
  for (let i = 0; i < EVENTS; i += PRELOAD_BATCH) await store.enqueue(trackEvents(Math.min(PRELOAD_BATCH, EVENTS - i), { keys: EVENTS }))
  let finished = 0
  let delivered = 0
  let done!: () => void
  const all = new Promise<void>((resolve) => (done = resolve))
  const stopProfile = await startCpuProfile(profile ? ctx.cpuProfileDir : '', profile)
  const cpu = process.cpuUsage()
  const main0 = mainThreadCpuSeconds()
  const started = performance.now()
  const from = process.hrtime.bigint()
  const delivery = ctx.relay.startDelivery({
    store,
    config: deliveryConfig(ctx, { adaptive: false, maxConcurrency: ctx.concurrency, initialConcurrency: ctx.concurrency }),
    logger: silentLogger,
    threads: 0,
    observer: {
      outcome: (r: OutcomeReport) => {
        if (r.outcome === 'retrying') return
        if (r.outcome === 'delivered') delivered++
        if (++finished === EVENTS) done()
      }
    }
  })
  await all
  const to = process.hrtime.bigint()
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  const mainMs = ((mainThreadCpuSeconds() - main0) * 1000) / EVENTS
  await stopProfile()
  await delivery.stop()
  await store.close()
  const bound = ctx.concurrency / (ctx.roundTripMs / 1000)
  return { side, span: [from, to], mainMs, cpuMs: (used.user + used.system) / 1000 / EVENTS, ratio: delivered / seconds / bound }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function main() {
  const dists = { A: openDist(args.a), B: openDist(args.b) }
  const relays = { A: loadRelay(dists.A), B: loadRelay(dists.B) }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-bench-delivery-ab-'))
  const sandbox = await startSandbox(LATENCY_MS)
  let n = 0
  try {
    await measureRoundTrip(sandbox, 10)
    const roundTripMs = await measureRoundTrip(sandbox)
    console.log(
      `delivery A/B bench${quick ? ' (quick: a smoke check, not a measurement)' : ''}: ${ROUNDS} rounds of A B B A, ${EVENTS} events per run, ` +
        `concurrency ${CONCURRENCY}; round trip ${roundTripMs.toFixed(1)} ms`
    )
    console.log(`A: ${dists.A.describe()}\nB: ${dists.B.describe()}\n${machineLine()}\n`)
    const context = (side: 'A' | 'B'): DeliveryBenchContext => ({
      relay: relays[side],
      sandbox,
      roundTripMs,
      concurrency: CONCURRENCY,
      threads: 0,
      cpuProfileDir: args['cpu-prof'] ?? '',
      openStore: () => relays[side].openStore(path.join(dir, `ab-${++n}.db`))
    })
    // Warm-up, not counted: each relay's code compiled before its first counted run.
    for (const side of ['A', 'B'] as const) await run(context(side), side)
    const runs: Run[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      let k = 0
      for (const side of ['A', 'B', 'B', 'A'] as const) {
        const r = await run(context(side), side, `round-${round}-${side}-${++k}`)
        runs.push(r)
        if (args.marks) fs.appendFileSync(args.marks, `${process.pid} ${side} ${r.span[0]} ${r.span[1]}\n`)
        console.log(`round ${round} ${side}: main thread ${(r.mainMs * 1000).toFixed(0)} µs/event, process ${(r.cpuMs * 1000).toFixed(0)} µs/event, ratio to the bound ${r.ratio.toFixed(2)}`)
      }
      fs.rmSync(dir, { recursive: true, force: true })
      fs.mkdirSync(dir, { recursive: true })
    }
    // Neighbouring pairs (A B and B A of each round): B over A, so drift between rounds cancels.
    const pairs: Array<{ main: number; cpu: number; ratio: number }> = []
    for (let i = 0; i + 1 < runs.length; i += 2) {
      const [x, y] = runs[i].side === 'A' ? [runs[i], runs[i + 1]] : [runs[i + 1], runs[i]]
      pairs.push({ main: y.mainMs / x.mainMs, cpu: y.cpuMs / x.cpuMs, ratio: y.ratio / x.ratio })
    }
    const side = (s: 'A' | 'B') => runs.filter((r) => r.side === s)
    console.log('')
    for (const s of ['A', 'B'] as const) {
      const rs = side(s)
      console.log(
        `${s}: main thread mean ${(mean(rs.map((r) => r.mainMs)) * 1000).toFixed(0)} µs/event (median ${(median(rs.map((r) => r.mainMs)) * 1000).toFixed(0)}), ` +
          `process mean ${(mean(rs.map((r) => r.cpuMs)) * 1000).toFixed(0)} µs/event, ratio mean ${mean(rs.map((r) => r.ratio)).toFixed(2)}`
      )
    }
    const fmt = (xs: number[]) => `median ${median(xs).toFixed(3)}, range ${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`
    console.log(`B / A over ${pairs.length} neighbouring pairs: main thread ${fmt(pairs.map((p) => p.main))}; process ${fmt(pairs.map((p) => p.cpu))}; ratio ${fmt(pairs.map((p) => p.ratio))}`)
  } finally {
    await sandbox.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
