/**
 * Delivery benchmark against the sandbox running as its own process (`csb-relay sandbox`), with
 * its baseline measured in the same run:
 *
 *   npm run bench:delivery            (builds first; the bench runs the built dist/)
 *   npx tsx bench/delivery.ts [--latency MS] [--concurrency N] [--events N] [--keys N] [--names N]
 *     [--rate N] [--seconds S] [--threads N] [--only NAME] [--cpu-prof DIR] [--dist PATH] [--quick]
 *
 * Scenarios (each with a fresh SQLite file store), after an unprinted warm-up:
 * - throughput: N events preloaded, each its own ordering key, delivered at a fixed concurrency;
 *   delivered events/s beside the bound concurrency / latency, where latency is the sandbox's
 *   round trip measured just before (the baseline of every throughput scenario).
 * - contended keys: the same with the events spread over few ordering keys (--keys, 200): an
 *   event waits until its key's previous event has its outcome recorded.
 * - many feature names: the same with --names distinct event names (400, more than CSB's 256
 *   features), the names guard on with its limit raised above that, so it refuses none and what
 *   shows is its cost: a store round trip before each name's first request.
 * - request client alone: actions-core's request client sending the same requests at the same
 *   concurrency, no relay around it: the ceiling of the HTTP path on this machine in this run.
 * - steady: events stored at a steady rate; end-to-end latency p50/p95/p99, and whether the
 *   relay kept up (if not, the figure measures a queue, and the verdict line says so).
 * - routing: throughput with three destination filters beside none.
 *
 * --dist PATH (or BENCH_DIST) runs another checkout's built relay; the sandbox and the
 * request-client baseline stay this checkout's. --quick (or BENCH_QUICK=1) shortens everything to
 * a smoke check.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { openDist } from './lib/dist'
import { COMMON_OPTIONS, setting } from './lib/options'
import { machineLine } from './lib/report'
import { measureRoundTrip, startSandbox } from './lib/sandbox'
import { runScenarios, type Scenario } from './lib/scenario'
import { loadRelay, type DeliveryBenchContext } from './delivery/context'
import { requestClientScenario } from './delivery/request-client'
import { routingScenario } from './delivery/routing'
import { steadyScenario } from './delivery/steady'
import { throughputScenario } from './delivery/throughput'

const { values: args } = parseArgs({
  options: {
    ...COMMON_OPTIONS,
    latency: { type: 'string' },
    concurrency: { type: 'string' },
    events: { type: 'string' },
    keys: { type: 'string' },
    names: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    // Run only the scenarios whose name contains this text (e.g. --only throughput).
    only: { type: 'string', default: '' },
    // A CPU profile of the main thread while each throughput scenario delivers (not while it preloads), into this directory.
    'cpu-prof': { type: 'string', default: '' },
    // Worker threads running the destination (the relay's CSB_RELAY_DELIVERY_THREADS; default 0).
    threads: { type: 'string', default: process.env.CSB_RELAY_DELIVERY_THREADS || '0' }
  }
})
const quick = args.quick ?? false
const LATENCY_MS = setting('--latency', args.latency, { full: 20, short: 20 }, quick)
const CONCURRENCY = setting('--concurrency', args.concurrency, { full: 64, short: 64 }, quick, 1)
const EVENTS = setting('--events', args.events, { full: 20_000, short: 300 }, quick, 1)
const KEYS = setting('--keys', args.keys, { full: 200, short: 200 }, quick, 1)
// No more distinct names than events, so the label says what was sent.
const NAMES = Math.min(EVENTS, setting('--names', args.names, { full: 400, short: 400 }, quick, 1))
const RATE = setting('--rate', args.rate, { full: 1000, short: 1000 }, quick, 1)
const SECONDS = setting('--seconds', args.seconds, { full: 10, short: 0.5 }, quick, 0.1)
const WARM_UP_EVENTS = Math.min(quick ? 200 : 3000, EVENTS)
const REQUESTS = quick ? 300 : 10_000
/** The names guard's limit in the many-names scenario: above NAMES, so the guard refuses none. */
const NAME_LIMIT = Math.max(1000, NAMES * 2)

const dist = openDist(args.dist)
const relay = loadRelay(dist)

/** Append scenarios here to compare them in one run. */
const SCENARIOS: Array<Scenario<DeliveryBenchContext>> = [
  throughputScenario('throughput, no filters', { events: EVENTS, target: 0.8 }),
  throughputScenario(`throughput, contended: ${KEYS} ordering keys`, { events: EVENTS, shape: { keys: KEYS } }),
  throughputScenario(`throughput, ${NAMES} feature names (names guard on, limit ${NAME_LIMIT})`, {
    events: EVENTS,
    shape: { keys: EVENTS, names: NAMES },
    settings: { maxDistinctFeatures: NAME_LIMIT }
  }),
  requestClientScenario(REQUESTS, Math.ceil(REQUESTS / 10)),
  steadyScenario(`steady ${RATE}/s, no filters`, RATE, SECONDS),
  // The same at a fifth of the rate: the pipeline's own latency when CPU is not the limit.
  steadyScenario(`steady ${Math.round(RATE / 5)}/s, no filters`, Math.round(RATE / 5), SECONDS),
  routingScenario(EVENTS)
]

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-bench-delivery-'))
  const sandbox = await startSandbox(LATENCY_MS)
  let n = 0
  try {
    await measureRoundTrip(sandbox, 10) // warm up
    const roundTripMs = await measureRoundTrip(sandbox)
    console.log(`delivery bench${quick ? ' (quick: a smoke check, not a measurement)' : ''}: ${EVENTS} events per throughput scenario, concurrency ${CONCURRENCY}`)
    console.log(`sandbox: ${sandbox.url} (own process), latency ${LATENCY_MS} ms; measured round trip ${roundTripMs.toFixed(1)} ms`)
    console.log(dist.describe())
    console.log(`store: SQLite file (WAL; every group commit synced to disk before it is acknowledged) in ${dir}; delivery worker threads: ${args.threads}`)
    console.log(`${machineLine()}\n`)
    const ctx: DeliveryBenchContext = {
      relay,
      sandbox,
      roundTripMs,
      concurrency: CONCURRENCY,
      threads: Number(args.threads),
      cpuProfileDir: args['cpu-prof'] ?? '',
      openStore: () => relay.openStore(path.join(dir, `bench-${++n}.db`))
    }
    // Warm-up (not printed): a relay that has run a while has its code compiled; the first
    // scenario should not pay for that alone.
    await throughputScenario('warm-up', { events: WARM_UP_EVENTS, unprofiled: true }).run(ctx)
    await runScenarios(SCENARIOS, ctx, args.only)
  } finally {
    await sandbox.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
