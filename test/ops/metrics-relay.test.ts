/**
 * /metrics of a real relay: scraped and parsed before and after traffic; the counters,
 * histograms and gauges named in docs/ops.md exist with their types and move.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Relay } from '../../src/cli/relay'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { post, startTestRelay } from '../helpers/relay'
import { removeTempDirs } from '../helpers/temp'
import { waitFor } from '../helpers/wait'
import { parsePrometheus, valueOf } from '../helpers/prom'

const API_KEY = 'csb_metrics_test_key_0123456789'
let sandbox: Sandbox
let relay: Relay

const scrape = async () => {
  const res = await fetch(`${relay.url}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/plain')
  return parsePrometheus(await res.text())
}
const or0 = (f: () => number) => {
  try {
    return f()
  } catch {
    return 0
  }
}

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, apiKey: API_KEY })
  relay = await startTestRelay({ env: { CSB_API_KEY: API_KEY, CSB_BASE_URL: sandbox.url } })
})
afterAll(async () => {
  await relay?.close()
  await sandbox?.close()
  removeTempDirs()
})

describe('GET /metrics on a running relay', () => {
  it('names every metric with its type, and the values follow ingest and delivery', async () => {
    const before = await scrape()
    const expected: Record<string, string> = {
      csb_relay_ingested_events_total: 'counter',
      csb_relay_delivery_outcomes_total: 'counter',
      csb_relay_delivery_retries_total: 'counter',
      csb_relay_backlog_depth: 'gauge',
      csb_relay_backlog_events: 'gauge',
      csb_relay_oldest_waiting_event_age_seconds: 'gauge',
      csb_relay_dead_letters: 'gauge',
      csb_relay_end_to_end_latency_seconds: 'histogram',
      csb_relay_delivery_concurrency: 'gauge',
      csb_relay_store_operation_seconds: 'histogram',
      csb_relay_distinct_names: 'gauge',
      csb_relay_distinct_names_limit: 'gauge'
    }
    for (const [name, type] of Object.entries(expected)) expect(before.get(name)?.type, name).toBe(type)
    expect(valueOf(before, 'csb_relay_delivery_concurrency')).toBeGreaterThan(0)

    // One retry (CSB answers 503 once), one refusal (400: dead letter), three deliveries, one duplicate.
    sandbox.setFaults({
      rules: [
        { match: { path: '/api/v1_1/feature', body: { feature_id: 'Flaky' } }, status: 503, count: 1 },
        { match: { path: '/api/v1_1/feature', body: { feature_id: 'Refused' } }, status: 400 }
      ]
    })
    const batch = [
      { type: 'identify', userId: 'm1', messageId: 'metrics-1', traits: { account_id: 'acme' } },
      { type: 'track', userId: 'm1', event: 'Flaky', properties: { account_id: 'acme' } },
      { type: 'track', userId: 'm2', event: 'Refused', properties: { account_id: 'acme' } },
      { type: 'track', userId: 'm3', event: 'Fine', properties: { account_id: 'acme' } }
    ]
    expect((await post(relay, '/v1/batch', { batch })).status).toBe(200)
    expect((await post(relay, '/v1/identify', batch[0])).status).toBe(200)
    expect((await post(relay, '/v1/track', { userId: 'x' })).status).toBe(400)

    const after = await waitFor(
      'three deliveries (one after a retry) and an empty backlog in /metrics',
      async () => {
        const m = await scrape()
        const delivered = or0(() => valueOf(m, 'csb_relay_delivery_outcomes_total', { outcome: 'delivered' }))
        return delivered >= 3 && valueOf(m, 'csb_relay_backlog_depth') === 0 ? m : undefined
      },
      { timeoutMs: 30_000, intervalMs: 200 }
    )
    const ingested = (labels: Record<string, string>) => or0(() => valueOf(after, 'csb_relay_ingested_events_total', labels))
    expect(ingested({ type: 'identify', result: 'accepted' })).toBe(1)
    expect(ingested({ type: 'identify', result: 'duplicate' })).toBe(1)
    expect(ingested({ type: 'track', result: 'accepted' })).toBe(3)
    expect(ingested({ result: 'rejected' })).toBe(1)
    expect(valueOf(after, 'csb_relay_delivery_outcomes_total', { action: 'identifyUser', status: '200', outcome: 'delivered' })).toBe(1)
    expect(valueOf(after, 'csb_relay_delivery_outcomes_total', { action: 'trackFeature', status: '503', outcome: 'retrying' })).toBe(1)
    expect(valueOf(after, 'csb_relay_delivery_outcomes_total', { action: 'trackFeature', status: '400', outcome: 'dead' })).toBe(1)
    expect(valueOf(after, 'csb_relay_delivery_retries_total', { action: 'trackFeature' })).toBe(1)
    expect(valueOf(after, 'csb_relay_end_to_end_latency_seconds_count')).toBe(valueOf(after, 'csb_relay_delivery_outcomes_total', { outcome: 'delivered' }))
    expect(valueOf(after, 'csb_relay_end_to_end_latency_seconds_bucket', { le: '+Inf' })).toBe(valueOf(after, 'csb_relay_end_to_end_latency_seconds_count'))
    expect(valueOf(after, 'csb_relay_store_operation_seconds_count', { operation: 'admit' })).toBeGreaterThan(or0(() => valueOf(before, 'csb_relay_store_operation_seconds_count', { operation: 'admit' })))
    expect(valueOf(after, 'csb_relay_dead_letters')).toBe(1)
    expect(valueOf(after, 'csb_relay_delivery_outcomes_total', { action: 'trackFeature', status: '200', outcome: 'delivered' })).toBe(2)
    expect(valueOf(after, 'csb_relay_backlog_events')).toBe(0)
    expect(valueOf(after, 'csb_relay_oldest_waiting_event_age_seconds')).toBe(0)
    // Flaky, Refused and Fine were sent as features (one module, the default); the limits are CSB's 256.
    expect(valueOf(after, 'csb_relay_distinct_names', { kind: 'feature' })).toBe(3)
    expect(valueOf(after, 'csb_relay_distinct_names', { kind: 'module' })).toBe(1)
    expect(valueOf(after, 'csb_relay_distinct_names_limit', { kind: 'feature' })).toBe(256)
    expect(valueOf(after, 'csb_relay_distinct_names_limit', { kind: 'module' })).toBe(256)
  })
})
