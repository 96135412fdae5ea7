/**
 * Steady: events stored at a steady rate (delivery woken after each store, as the relay's ingest
 * does); end-to-end latency (receivedAt -> outcome recorded) p50/p95/p99, and whether the relay
 * kept up (if not, the figure measures a queue, and the verdict says so).
 */
import type { OutcomeReport } from '../../src/delivery'
import { percentile } from '../lib/report'
import type { Scenario } from '../lib/scenario'
import { deliveryConfig, silentLogger, type DeliveryBenchContext } from './context'
import { trackEvents } from './events'

/** Events stored every tick: the ones due by then at the rate. */
const TICK_MS = 10
const KEYS = 5000

export function steadyScenario(name: string, rate: number, seconds: number): Scenario<DeliveryBenchContext> {
  return {
    name,
    async run(ctx) {
      const store = await ctx.openStore()
      const latencies: number[] = []
      const total = Math.round(rate * seconds)
      let done!: () => void
      const finished = new Promise<void>((resolve) => (done = resolve))
      const delivery = ctx.relay.startDelivery({
        store,
        config: deliveryConfig(ctx, {}),
        logger: silentLogger,
        threads: ctx.threads,
        observer: {
          outcome: (r: OutcomeReport) => {
            if (r.outcome === 'delivered' && typeof r.endToEndMs === 'number' && latencies.push(r.endToEndMs) === total) done()
          }
        }
      })
      const cpu = process.cpuUsage()
      const started = performance.now()
      let sent = 0
      while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate))
        if (due > sent) {
          await store.enqueue(trackEvents(due - sent, { keys: KEYS }))
          sent = due
          delivery.wake()
        }
        await new Promise((r) => setTimeout(r, TICK_MS))
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
        'relay CPU ms/event': ((sendCpu.user + sendCpu.system) / 1000 / Math.max(1, deliveredWhileSending)).toFixed(2),
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
