/**
 * Routing (docs/routing.md): the throughput scenario with three destination filters in force
 * beside none, in ABBA order to even out drift; ratios are three / none. Then route() alone on
 * the same events (with an email to remove), against the relay's CPU per event.
 */
import type { Figures } from '../lib/report'
import type { Scenario } from '../lib/scenario'
import type { DeliveryBenchContext } from './context'
import { trackEvents } from './events'
import { throughputScenario } from './throughput'

const ROUTING_FILTERS = [
  { name: 'no internal', drop: 'properties.internal = true' },
  { name: 'tracks and identifies', keep: 'type = "track" or type = "identify"' },
  { name: 'no PII', block: ['traits.email', 'context.traits.email', 'properties.email'] }
]
const ROUTE_ROUNDS = 200

export function routingScenario(events: number): Scenario<DeliveryBenchContext> {
  return {
    name: 'routing: three filters beside none (throughput, ABBA)',
    async run(ctx) {
      const runs: Record<'none' | 'three', Figures[]> = { none: [], three: [] }
      for (const which of ['none', 'three', 'three', 'none'] as const) {
        const extra = which === 'three' ? { filters: ROUTING_FILTERS } : {}
        runs[which].push(await throughputScenario(which, { events, extra }).run(ctx))
      }
      const mean = (which: 'none' | 'three', key: string) => runs[which].reduce((sum, r) => sum + Number(r[key]), 0) / runs[which].length
      const router = ctx.relay.createRouter(ROUTING_FILTERS)
      const sample = trackEvents(1000, { keys: 100 }).map((e) => ({ ...e.event, properties: { ...(e.event.properties as object), email: 'a@example.test' } }))
      for (const e of sample) router.route(e) // warm up
      const started = process.hrtime.bigint()
      for (let round = 0; round < ROUTE_ROUNDS; round++) for (const e of sample) router.route(e)
      const routeMs = Number(process.hrtime.bigint() - started) / 1e6 / (ROUTE_ROUNDS * sample.length)
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
  }
}
