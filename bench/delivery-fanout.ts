/**
 * Delivery to two destinations at once: CSB (the sandbox, its own process) and Segment's webhook
 * definition (a loopback stand-in, its own process), each at a fixed concurrency:
 *
 *   npm run bench:fanout              (builds first; the bench runs the built dist/)
 *   npx tsx bench/delivery-fanout.ts [--latency MS] [--concurrency N] [--events N] [--dist PATH] [--quick]
 *
 * Scenarios, in one run, each with a fresh SQLite file store and N events preloaded (each its own
 * ordering key), after an unprinted warm-up:
 * - one destination (CSB): the baseline, as bench/delivery's throughput scenario measures it;
 * - two destinations (CSB + webhook): the same N events stored once per destination (2N rows);
 *   delivered/s per destination beside its bound (concurrency / its measured round trip), and
 *   the relay's CPU per delivered event beside the one-destination figure.
 * --quick (or BENCH_QUICK=1) shortens everything to a smoke check.
 */
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type * as DeliveryModule from '../src/delivery'
import type { OutcomeReport } from '../src/delivery'
import { openDist, ROOT } from './lib/dist'
import { COMMON_OPTIONS, setting } from './lib/options'
import { startProcess, type Proc } from './lib/processes'
import { machineLine, type Figures } from './lib/report'
import { measureRoundTrip, startSandbox } from './lib/sandbox'
import { runScenarios, type Scenario } from './lib/scenario'
import { deliveryConfig, loadRelay, silentLogger, type DeliveryBenchContext } from './delivery/context'
import { trackEvents } from './delivery/events'
import { throughputScenario } from './delivery/throughput'

const { values: args } = parseArgs({
  options: { ...COMMON_OPTIONS, latency: { type: 'string' }, concurrency: { type: 'string' }, events: { type: 'string' } }
})
const quick = args.quick ?? false
const LATENCY_MS = setting('--latency', args.latency, { full: 20, short: 20 }, quick)
const CONCURRENCY = setting('--concurrency', args.concurrency, { full: 64, short: 64 }, quick, 1)
const EVENTS = setting('--events', args.events, { full: 20_000, short: 300 }, quick, 1)
const WARM_UP_EVENTS = Math.min(quick ? 200 : 3000, EVENTS)
const HOOK = 'hooks'
const CSB = 'CustomerSuccessBox'

const dist = openDist(args.dist)
const relay = loadRelay(dist)
const { checkDestinations } = dist.load<typeof DeliveryModule>('delivery')

/** The webhook stand-in as its own process: answers every request 200 after `latencyMs`. */
function startHook(latencyMs: number): Promise<Proc> {
  const script = `
    const http = require('node:http')
    const server = http.createServer((req, res) => {
      req.resume()
      req.on('end', () => setTimeout(() => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ok":true}') }, ${latencyMs}))
    })
    server.keepAliveTimeout = 5000
    server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port))`
  return startProcess('webhook stand-in', ['-e', script])
}

/** Mean sequential round trip of one POST to the stand-in, in ms. */
async function hookRoundTrip(url: string, n = 50): Promise<number> {
  const agent = new http.Agent({ keepAlive: true })
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(`${url}/in`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume()
        res.on('end', () => resolve())
      })
      req.on('error', reject)
      req.end('{"type":"track"}')
    })
  for (let i = 0; i < 10; i++) await once()
  const started = performance.now()
  for (let i = 0; i < n; i++) await once()
  agent.destroy()
  return (performance.now() - started) / n
}

interface FanoutContext extends DeliveryBenchContext {
  hookUrl: string
  hookRoundTripMs: number
  dir: string
  /** CPU ms per delivered event with CSB alone, from the scenario run before. */
  oneDestinationCpuMs?: number
}

function fanoutScenario(name: string, events: number): Scenario<FanoutContext> {
  return {
    name,
    async run(ctx) {
      const store = await ctx.relay.openStore(path.join(ctx.dir, `fanout-${Date.now()}.db`), { destinations: [CSB, HOOK] })
      for (let i = 0; i < events; i += 2000) await store.enqueue(trackEvents(Math.min(2000, events - i), { keys: events }))
      const fixed = { adaptive: false, maxConcurrency: ctx.concurrency, initialConcurrency: ctx.concurrency }
      const destinations = checkDestinations([{
        name: HOOK, definition: 'webhook', settings: {}, delivery: fixed,
        subscriptions: [{ name: 'tracks', partnerAction: 'send', subscribe: 'type = "track"', mapping: { url: `${ctx.hookUrl}/in`, method: 'POST', data: { '@path': '$.' } } }]
      }], ROOT)
      const delivered = new Map<string, number>([[CSB, 0], [HOOK, 0]])
      const finishedAt = new Map<string, number>()
      const other = { dead: 0, skipped: 0 }
      let done!: () => void
      const finished = new Promise<void>((resolve) => (done = resolve))
      const cpu = process.cpuUsage()
      const started = performance.now()
      const delivery = ctx.relay.startDelivery({
        store,
        config: deliveryConfig(ctx, fixed),
        logger: silentLogger,
        destinations,
        observer: {
          outcome: (r: OutcomeReport) => {
            if (r.outcome === 'retrying') return
            const destination = r.destination ?? CSB
            if (r.outcome === 'delivered') delivered.set(destination, (delivered.get(destination) ?? 0) + 1)
            else other[r.outcome]++
            if ((delivered.get(destination) ?? 0) === events) finishedAt.set(destination, performance.now())
            if (finishedAt.size === 2 || other.dead + other.skipped > 0) done()
          }
        }
      })
      await finished
      const seconds = (performance.now() - started) / 1000
      const used = process.cpuUsage(cpu)
      await delivery.stop()
      await store.close()
      const total = (delivered.get(CSB) ?? 0) + (delivered.get(HOOK) ?? 0)
      const cpuMs = (used.user + used.system) / 1000 / total
      const figures: Figures = { 'events (rows)': `${events} (${events * 2})`, 'dead, skipped': `${other.dead}, ${other.skipped}`, seconds: seconds.toFixed(2) }
      for (const [destination, label, roundTrip] of [[CSB, 'CSB', ctx.roundTripMs], [HOOK, 'webhook', ctx.hookRoundTripMs]] as const) {
        const own = ((finishedAt.get(destination) ?? performance.now()) - started) / 1000
        const perSecond = (delivered.get(destination) ?? 0) / own
        const boundPerSecond = ctx.concurrency / (roundTrip / 1000)
        figures[`${label} delivered/s`] = Math.round(perSecond)
        figures[`${label} bound ${ctx.concurrency}/${roundTrip.toFixed(1)}ms`] = Math.round(boundPerSecond)
        figures[`${label} ratio to the bound`] = (perSecond / boundPerSecond).toFixed(2)
      }
      figures['relay CPU ms/delivered event'] = cpuMs.toFixed(2)
      if (ctx.oneDestinationCpuMs !== undefined) {
        figures['  one destination (CSB alone)'] = ctx.oneDestinationCpuMs.toFixed(2)
        figures['  ratio to one destination'] = (cpuMs / ctx.oneDestinationCpuMs).toFixed(2)
      }
      return figures
    }
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-bench-fanout-'))
  const sandbox = await startSandbox(LATENCY_MS)
  const hook = await startHook(LATENCY_MS)
  let n = 0
  try {
    await measureRoundTrip(sandbox, 10)
    const roundTripMs = await measureRoundTrip(sandbox)
    const hookRoundTripMs = await hookRoundTrip(hook.url)
    console.log(`delivery fan-out bench${quick ? ' (quick: a smoke check, not a measurement)' : ''}: ${EVENTS} events, concurrency ${CONCURRENCY} per destination`)
    console.log(`sandbox (CSB): ${sandbox.url}, latency ${LATENCY_MS} ms, measured round trip ${roundTripMs.toFixed(1)} ms`)
    console.log(`webhook stand-in: ${hook.url}, latency ${LATENCY_MS} ms, measured round trip ${hookRoundTripMs.toFixed(1)} ms`)
    console.log(dist.describe())
    console.log(`store: SQLite file in ${dir}\n${machineLine()}\n`)
    const ctx: FanoutContext = {
      relay, sandbox, roundTripMs, concurrency: CONCURRENCY, threads: 0, cpuProfileDir: '',
      openStore: () => relay.openStore(path.join(dir, `bench-${++n}.db`)),
      hookUrl: hook.url, hookRoundTripMs, dir
    }
    await throughputScenario('warm-up', { events: WARM_UP_EVENTS, unprofiled: true }).run(ctx)
    const one = throughputScenario('one destination (CSB)', { events: EVENTS, unprofiled: true })
    const results = await runScenarios([one], ctx)
    ctx.oneDestinationCpuMs = Number(results.get(one.name)?.['relay CPU ms/event'])
    await runScenarios([fanoutScenario('two destinations (CSB + webhook)', EVENTS)], ctx)
  } finally {
    await hook.stop()
    await sandbox.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
