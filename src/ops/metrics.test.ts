import Fastify from 'fastify'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { parsePrometheus, valueOf } from '../../test/helpers/prom'
import type { Counts } from '../store/types'
import { createMetrics, metricsPlugin } from './metrics'

function counts(over: Partial<Counts> = {}): Counts {
  return { admitted: 0, pending: 0, retrying: 0, inFlight: 0, delivered: 0, dead: 0, skipped: 0, oldestPendingAt: null, byDestination: {}, ...over }
}

describe('metrics', () => {
  it('exposes every relay metric with its type, and values move with what ingest and delivery report', async () => {
    let current = counts()
    const registry = new Registry()
    const metrics = createMetrics({ registry, counts: async () => current })
    const app = Fastify()
    await app.register(metricsPlugin, { registry })
    const scrape = async () => {
      const res = await app.inject('/metrics')
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toContain('text/plain')
      return parsePrometheus(res.body)
    }

    const before = await scrape()
    const types: Record<string, string> = {
      csb_relay_ingested_events_total: 'counter',
      csb_relay_delivery_outcomes_total: 'counter',
      csb_relay_delivery_retries_total: 'counter',
      csb_relay_backlog_events: 'gauge',
      csb_relay_backlog_depth: 'gauge',
      csb_relay_oldest_waiting_event_age_seconds: 'gauge',
      csb_relay_dead_letters: 'gauge',
      csb_relay_end_to_end_latency_seconds: 'histogram',
      csb_relay_delivery_concurrency: 'gauge',
      csb_relay_late_feature_events_total: 'counter',
      csb_relay_store_operation_seconds: 'histogram',
      csb_relay_rate_limited_events_total: 'counter',
      csb_relay_invalid_timestamps_total: 'counter',
      csb_relay_junk_ids_total: 'counter',
      csb_relay_process_cpu_seconds_total: 'counter'
    }
    for (const [name, type] of Object.entries(types)) expect(before.get(name)?.type, name).toBe(type)
    expect(valueOf(before, 'csb_relay_backlog_depth')).toBe(0)
    expect(valueOf(before, 'csb_relay_oldest_waiting_event_age_seconds')).toBe(0)

    metrics.ingestObserver.ingested!('track', 'accepted', 3)
    metrics.ingestObserver.ingested!('identify', 'duplicate', 1)
    metrics.ingestObserver.ingested!('Weird', 'rejected', 1)
    metrics.ingestObserver.storeLatency!('admit', 0.002)
    metrics.ingestObserver.rateLimited('web', 100)
    metrics.ingestObserver.rateLimited('web', 1)
    metrics.ingestObserver.invalidTime('timestamp', 2)
    metrics.ingestObserver.junkId('traits.user_id', 3)
    const delivery = metrics.deliveryObserver
    delivery.outcome!({ outcome: 'delivered', action: 'trackFeature', status: 200, eventId: '1', messageId: 'a', attempts: 1, endToEndMs: 40 })
    delivery.outcome!({ outcome: 'delivered', action: 'trackFeature', status: 200, eventId: '2', messageId: 'b', attempts: 2, endToEndMs: 7000, lateFeatures: 1 })
    delivery.outcome!({ outcome: 'retrying', action: 'trackFeature', status: 429, reason: 'HTTP 429', eventId: '3', messageId: 'c', attempts: 1 })
    delivery.outcome!({ outcome: 'dead', action: 'identifyUser', status: 400, reason: 'HTTP 400', eventId: '4', messageId: 'd', attempts: 1 })
    delivery.concurrency!(12)
    current = counts({ admitted: 3, pending: 2, retrying: 2, inFlight: 1, dead: 1, oldestPendingAt: new Date(Date.now() - 90_000) })

    const after = await scrape()
    expect(valueOf(after, 'csb_relay_ingested_events_total', { type: 'track', result: 'accepted' })).toBe(3)
    expect(valueOf(after, 'csb_relay_ingested_events_total', { type: 'identify', result: 'duplicate' })).toBe(1)
    expect(valueOf(after, 'csb_relay_ingested_events_total', { type: 'other', result: 'rejected' })).toBe(1)
    expect(valueOf(after, 'csb_relay_rate_limited_events_total', { source: 'web' })).toBe(101)
    expect(valueOf(after, 'csb_relay_invalid_timestamps_total', { field: 'timestamp' })).toBe(2)
    expect(valueOf(after, 'csb_relay_junk_ids_total', { path: 'traits.user_id' })).toBe(3)
    expect(valueOf(after, 'csb_relay_delivery_outcomes_total', { action: 'trackFeature', status: '200', outcome: 'delivered' })).toBe(2)
    expect(valueOf(after, 'csb_relay_delivery_outcomes_total', { action: 'identifyUser', status: '400', outcome: 'dead' })).toBe(1)
    expect(valueOf(after, 'csb_relay_delivery_retries_total', { action: 'trackFeature' })).toBe(1)
    expect(valueOf(after, 'csb_relay_end_to_end_latency_seconds_count')).toBe(2)
    expect(valueOf(after, 'csb_relay_end_to_end_latency_seconds_bucket', { le: '0.05' })).toBe(1)
    expect(valueOf(after, 'csb_relay_end_to_end_latency_seconds_bucket', { le: '10' })).toBe(2)
    expect(valueOf(after, 'csb_relay_end_to_end_latency_seconds_sum')).toBeCloseTo(7.04)
    expect(valueOf(after, 'csb_relay_delivery_concurrency')).toBe(12)
    expect(valueOf(before, 'csb_relay_late_feature_events_total')).toBe(0)
    expect(valueOf(after, 'csb_relay_late_feature_events_total')).toBe(1)
    expect(valueOf(after, 'csb_relay_backlog_depth')).toBe(8)
    expect(valueOf(after, 'csb_relay_backlog_events', { state: 'retrying' })).toBe(2)
    expect(valueOf(after, 'csb_relay_backlog_events', { state: 'admitted' })).toBe(3)
    expect(valueOf(after, 'csb_relay_dead_letters')).toBe(1)
    const age = valueOf(after, 'csb_relay_oldest_waiting_event_age_seconds')
    expect(age).toBeGreaterThanOrEqual(90)
    expect(age).toBeLessThan(3600)
    expect(valueOf(after, 'csb_relay_store_operation_seconds_count', { operation: 'admit' })).toBe(1)
    expect(valueOf(after, 'csb_relay_store_operation_seconds_count', { operation: 'counts' })).toBeGreaterThanOrEqual(1)
    await app.close()
  })

  it('labels delivery by destination, and splits the backlog per destination (the depth is the slowest one)', async () => {
    const dest = (pending: number, retrying: number, inFlight: number, dead: number, oldestPendingAt: Date | null = null) =>
      ({ pending, retrying, inFlight, delivered: 0, dead, skipped: 0, oldestPendingAt })
    const current = counts({
      admitted: 1, pending: 7, retrying: 2, inFlight: 1, dead: 3,
      byDestination: { CustomerSuccessBox: dest(1, 0, 1, 1), hooks: dest(6, 2, 0, 2, new Date(Date.now() - 120_000)) }
    })
    const registry = new Registry()
    const metrics = createMetrics({ registry, counts: async () => current, processMetrics: false })
    const delivery = metrics.deliveryObserver
    delivery.outcome!({ outcome: 'delivered', action: 'trackFeature', status: 200, eventId: '1', messageId: 'a', attempts: 1, endToEndMs: 40 })
    delivery.outcome!({ outcome: 'delivered', destination: 'hooks', action: 'send', status: 200, eventId: '2', messageId: 'a', attempts: 1, endToEndMs: 90 })
    delivery.outcome!({ outcome: 'retrying', destination: 'hooks', action: 'send', status: 503, eventId: '3', messageId: 'b', attempts: 1 })
    delivery.concurrency!(10)
    delivery.concurrency!(4, 'hooks')
    const m = parsePrometheus(await registry.metrics())
    expect(valueOf(m, 'csb_relay_delivery_outcomes_total', { destination: 'CustomerSuccessBox', outcome: 'delivered' })).toBe(1)
    expect(valueOf(m, 'csb_relay_delivery_outcomes_total', { destination: 'hooks', action: 'send', status: '200', outcome: 'delivered' })).toBe(1)
    expect(valueOf(m, 'csb_relay_delivery_retries_total', { destination: 'hooks', action: 'send' })).toBe(1)
    expect(() => valueOf(m, 'csb_relay_delivery_retries_total', { destination: 'CustomerSuccessBox' })).toThrow()
    expect(valueOf(m, 'csb_relay_end_to_end_latency_seconds_count', { destination: 'hooks' })).toBe(1)
    expect(valueOf(m, 'csb_relay_delivery_concurrency', { destination: 'CustomerSuccessBox' })).toBe(10)
    expect(valueOf(m, 'csb_relay_delivery_concurrency', { destination: 'hooks' })).toBe(4)
    expect(valueOf(m, 'csb_relay_destination_backlog_events', { destination: 'hooks', state: 'pending' })).toBe(6)
    expect(valueOf(m, 'csb_relay_destination_backlog_events', { destination: 'CustomerSuccessBox', state: 'in_flight' })).toBe(1)
    expect(valueOf(m, 'csb_relay_destination_dead_letters', { destination: 'hooks' })).toBe(2)
    expect(valueOf(m, 'csb_relay_destination_oldest_waiting_event_age_seconds', { destination: 'hooks' })).toBeGreaterThanOrEqual(120)
    expect(valueOf(m, 'csb_relay_destination_oldest_waiting_event_age_seconds', { destination: 'CustomerSuccessBox' })).toBe(0)
    // Admitted plus the slowest destination's 8 unfinished rows, not the 11 rows added up.
    expect(valueOf(m, 'csb_relay_backlog_depth')).toBe(9)
    expect(valueOf(m, 'csb_relay_backlog_events', { state: 'pending' })).toBe(7)
  })

  it('reports the store\'s own totals at scrape time: suppressed events, and SQLite\'s inbox errors only where the store has an inbox', async () => {
    let inboxErrors: number | undefined = 2
    const registry = new Registry()
    createMetrics({ registry, counts: async () => counts(), processMetrics: false, suppressedEvents: async () => 5, inboxErrors: () => inboxErrors })
    let m = parsePrometheus(await registry.metrics())
    expect(valueOf(m, 'csb_relay_suppressed_events_total')).toBe(5)
    expect(valueOf(m, 'csb_relay_store_inbox_errors_total')).toBe(2)
    inboxErrors = 3
    m = parsePrometheus(await registry.metrics())
    expect(valueOf(m, 'csb_relay_store_inbox_errors_total')).toBe(3)
    const postgres = new Registry()
    createMetrics({ registry: postgres, counts: async () => counts(), processMetrics: false, inboxErrors: () => undefined })
    expect(await postgres.metrics()).not.toContain('inbox_errors')
  })

  it('registers nothing globally: two relays in one process have separate registries', async () => {
    const { register } = await import('prom-client')
    const a = createMetrics({ registry: new Registry(), counts: async () => counts(), processMetrics: false })
    const b = createMetrics({ registry: new Registry(), counts: async () => counts(), processMetrics: false })
    a.ingestObserver.ingested!('track', 'accepted', 1)
    expect(await b.registry.getSingleMetricAsString('csb_relay_ingested_events_total')).not.toContain('result="accepted"')
    expect(await register.metrics()).not.toContain('csb_relay_')
  })
})
