/**
 * Delivery under CSB faults, with load: outages (503 and refused connections) and rate limits
 * (429 with and without Retry-After). Every event must be delivered exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { accepted, enqueue, fastDelivery, segmentEvent, startRig, type Rig } from '../../test/helpers/delivery'
import { waitFor } from '../../test/helpers/wait'

let rig: Rig | undefined
afterEach(async () => {
  await rig?.close()
  rig = undefined
})

const USERS = 40
const PER_USER = 8
/** The events' 320 distinct names mark their order: the guard on CSB's 256 distinct features is off (0). */
const delivery = { ...fastDelivery, maxDistinctFeatures: 0 }

function load() {
  const events = []
  for (let i = 0; i < PER_USER; i++) {
    for (let u = 0; u < USERS; u++) {
      events.push(segmentEvent({ type: 'track', userId: `user-${u}`, event: `u${u}-e${i}`, properties: { account_id: 'acc' } }))
    }
  }
  return events
}

async function allDelivered(r: Rig, total: number, timeoutMs = 30_000) {
  await waitFor(`${total} delivered`, async () => (await r.store.counts()).delivered === total, { timeoutMs })
}

/** Every event accepted exactly once, and in order per user. */
function checkExactlyOnceInOrder(r: Rig) {
  const names = accepted(r.sandbox, '/api/v1_1/feature').map((q) => (q.body as { feature_id: string }).feature_id)
  expect(names).toHaveLength(USERS * PER_USER)
  expect(new Set(names).size).toBe(USERS * PER_USER)
  for (let u = 0; u < USERS; u++) {
    expect(names.filter((n) => n.startsWith(`u${u}-`))).toEqual(Array.from({ length: PER_USER }, (_, i) => `u${u}-e${i}`))
  }
}

function overhead(r: Rig): { requests: number; delivered: number; extraPerDelivered: number } {
  const requests = r.sandbox.requests().length
  const delivered = accepted(r.sandbox).length
  return { requests, delivered, extraPerDelivered: Number(((requests - delivered) / delivered).toFixed(3)) }
}

describe('delivery under faults', () => {
  it.each(['status', 'refuse'] as const)('an outage (%s) under load: every event delivered once, in order per user', async (mode) => {
    rig = await startRig({ delivery })
    const r = rig
    r.sandbox.setFaults({ latency: 5, outage: { seconds: 1.5, mode } })
    await enqueue(r.store, load())
    await allDelivered(r, USERS * PER_USER)
    checkExactlyOnceInOrder(r)
    expect(r.outcomes.filter((o) => o.outcome === 'retrying').length).toBeGreaterThan(0)
    expect(r.outcomes.filter((o) => o.outcome === 'dead')).toHaveLength(0)
    // The limiter backed off during the outage.
    expect(Math.min(...r.concurrency)).toBeLessThan(16)
    console.log(`outage ${mode}: ${JSON.stringify(overhead(r))}, lowest concurrency ${Math.min(...r.concurrency)}`)
  })

  it.each([
    ['with Retry-After', { perSecond: 150, burst: 10, retryAfterSeconds: 'auto' as const }],
    ['without Retry-After', { perSecond: 150, burst: 10 }]
  ])('429s %s: all delivered once, in order per user; overhead measured', async (_label, rateLimit) => {
    rig = await startRig({ delivery })
    const r = rig
    r.sandbox.setFaults({ latency: 5, rateLimit })
    await enqueue(r.store, load())
    await allDelivered(r, USERS * PER_USER)
    checkExactlyOnceInOrder(r)
    const o = overhead(r)
    const throttled = r.sandbox.requests().filter((q) => q.status === 429).length
    expect(throttled).toBeGreaterThan(0)
    expect(throttled).toBe(o.requests - o.delivered)
    console.log(`429 ${_label}: ${JSON.stringify(o)}, concurrency settled at ${r.delivery.stats().concurrency}`)
    // No retry storm: fewer than 2 extra requests per delivered event.
    expect(o.extraPerDelivered).toBeLessThan(2)
  })
})
