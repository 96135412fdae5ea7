/**
 * Throughput: a backlog stored first, then delivered at a fixed concurrency; delivered events/s
 * beside the bound concurrency / round trip (the baseline), with where the CPU went.
 */
import type { DeliveryConfig, DeliverySettings, OutcomeReport } from '../../src/delivery'
import { machineBusySeconds, mainThreadCpuSeconds, otherThreadsCpuSeconds, procCpuSeconds } from '../lib/cpu'
import { startCpuProfile } from '../lib/profile'
import { percentile } from '../lib/report'
import type { Scenario } from '../lib/scenario'
import { bound, deliveryConfig, silentLogger, type DeliveryBenchContext } from './context'
import { trackEvents, type EventShape } from './events'

export interface ThroughputOptions {
  events: number
  /** Default: every event its own ordering key (no key waits for another). */
  shape?: EventShape
  /** Delivery settings on top of the fixed concurrency (e.g. the names guard's limit). */
  settings?: Partial<DeliverySettings>
  /** Config beside delivery's (e.g. routing filters). */
  extra?: Partial<DeliveryConfig>
  /** The ratio to the bound this scenario is judged against, printed in its label. */
  target?: number
  /** No CPU profile (the warm-up). */
  unprofiled?: boolean
}

const PRELOAD_BATCH = 2000

export function throughputScenario(name: string, options: ThroughputOptions): Scenario<DeliveryBenchContext> {
  const { events, shape = { keys: events }, settings = {}, extra = {}, target } = options
  return {
    name,
    async run(ctx) {
      const store = await ctx.openStore()
      for (let i = 0; i < events; i += PRELOAD_BATCH) await store.enqueue(trackEvents(Math.min(PRELOAD_BATCH, events - i), shape))
      const outcomes = { delivered: 0, dead: 0, skipped: 0 }
      // Store calls' round trips as the pipeline sees them (call to answer, main-thread waits included), by verb.
      const storeMs = new Map<string, number[]>()
      let done!: () => void
      const finished = new Promise<void>((resolve) => (done = resolve))
      const stopProfile = await startCpuProfile(options.unprofiled ? '' : ctx.cpuProfileDir, name)
      const cpu = process.cpuUsage()
      const mainCpu0 = mainThreadCpuSeconds()
      const threads0 = otherThreadsCpuSeconds()
      const sandboxCpu0 = procCpuSeconds(ctx.sandbox.child.pid)
      const machine0 = machineBusySeconds()
      const started = performance.now()
      const delivery = ctx.relay.startDelivery({
        store,
        config: deliveryConfig(ctx, { adaptive: false, maxConcurrency: ctx.concurrency, initialConcurrency: ctx.concurrency, ...settings }, extra),
        logger: silentLogger,
        threads: ctx.threads,
        observer: {
          outcome: (r: OutcomeReport) => {
            if (r.outcome === 'retrying') return
            outcomes[r.outcome]++
            if (outcomes.delivered + outcomes.dead + outcomes.skipped === events) done()
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
      const relayShare = (used.user + used.system) / 1e6 / seconds
      const cpuMsPerEvent = (used.user + used.system) / 1000 / events
      const mainCpuMsPerEvent = ((mainThreadCpuSeconds() - mainCpu0) * 1000) / events
      // The busiest other threads (the store's worker thread is usually the first; then V8's GC helpers and libuv's pool).
      const busiest = [...otherThreadsCpuSeconds()].map(([tid, sec]) => ((sec - (threads0.get(tid) ?? 0)) * 1000) / events).sort((a, b) => b - a)
      const sandboxShare = (procCpuSeconds(ctx.sandbox.child.pid) - sandboxCpu0) / seconds
      const machineShare = (machineBusySeconds() - machine0) / seconds
      await stopProfile()
      const names = delivery.stats().names
      await delivery.stop()
      await store.close()
      const perSecond = outcomes.delivered / seconds
      const baseline = bound(ctx)
      return {
        events,
        'ordering keys, event names': `${shape.keys}, ${shape.names ?? 1}`,
        'delivered, dead, skipped': `${outcomes.delivered}, ${outcomes.dead}, ${outcomes.skipped}`,
        // What the names guard has admitted (0 = its limit is off).
        'feature names known / limit': `${names.feature.known} / ${names.feature.limit}`,
        seconds: seconds.toFixed(2),
        'delivered/s': Math.round(perSecond),
        [baseline.label]: Math.round(baseline.perSecond),
        [target === undefined ? 'ratio to the bound' : `ratio (target >= ${target.toFixed(2)})`]: (perSecond / baseline.perSecond).toFixed(2),
        'relay CPU ms/event': cpuMsPerEvent.toFixed(2),
        // The delivery pipeline and destination (unless --threads); the rest is the store's and other threads'.
        '  of which main thread': mainCpuMsPerEvent.toFixed(2),
        '  other threads, busiest first': `${busiest.slice(0, 3).map((ms) => ms.toFixed(2)).join(', ')} (+${busiest.slice(3).reduce((a, b) => a + b, 0).toFixed(2)} in ${Math.max(0, busiest.length - 3)} more)`,
        'CPU-bound ceiling/s (1 core)': Math.round(1000 / cpuMsPerEvent),
        // Below 1 while delivered/s is below the bound: the relay waited for a CPU (other processes).
        'relay CPU share of wall': relayShare.toFixed(2),
        'sandbox CPU share of wall': sandboxShare.toFixed(2),
        // The rest of the machine's busy CPU (other processes, the kernel's own work): what the run competed with.
        'other processes CPU share': (machineShare - relayShare - sandboxShare).toFixed(2),
        'time per request ms (Little)': ((ctx.concurrency / perSecond) * 1000).toFixed(1),
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
