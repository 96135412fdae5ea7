/**
 * Events leased ahead and waiting in delivery's buffer while CSB asks for a pause (429 with
 * Retry-After) are not sent once a regulation suppressed or purged their user (issue 16): at
 * once through `revalidateLeases` (what the regulation runner calls), or at the next periodic
 * lease extension. Other users' events go out, and a purged user's key is not left held.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { enqueue, fastDelivery, segmentEvent, startRig, type Rig } from '../../test/helpers/delivery'
import { waitFor } from '../../test/helpers/wait'

let rig: Rig | undefined
afterEach(async () => {
  await rig?.close()
  rig = undefined
})

/** Long enough for the buffer to fill and the regulation to run on a loaded machine. */
const PAUSE_S = 3
const feature = (userId: string, name: string) =>
  segmentEvent({ type: 'track', userId, event: name, properties: { account_id: 'acc' } })

/** Every request the sandbox saw for `userId`'s features, whatever it answered. */
const sentFor = (r: Rig, userId: string) =>
  r.sandbox
    .requests({ path: '/api/v1_1/feature' })
    .filter((q) => (q.body as { user_id?: string }).user_id === userId)
    .map((q) => (q.body as { feature_id: string }).feature_id)

/** Starts a rig whose first feature request is answered 429 with Retry-After, then buffers three users' events behind the pause. */
async function pausedWithBuffer(leaseMs: number): Promise<Rig> {
  // backoffCapMs caps a Retry-After pause: above PAUSE_S so the pause is the sandbox's.
  const r = await startRig({ delivery: { ...fastDelivery, leaseMs, backoffCapMs: 10_000 } })
  r.sandbox.setFaults({ rules: [{ match: { path: '/api/v1_1/feature' }, status: 429, retryAfterSeconds: PAUSE_S, count: 1 }] })
  await enqueue(r.store, [feature('probe', 'p1')])
  await waitFor('the 429 and its pause', () => r.sandbox.requests().some((q) => q.status === 429) && r.delivery.stats().paused)
  await enqueue(r.store, [feature('gone', 'g1'), feature('gone', 'g2'), feature('erased', 'e1'), feature('kept', 'k1'), feature('kept', 'k2')])
  await waitFor('three keys buffered', () => r.delivery.stats().buffered === 3)
  expect(r.delivery.stats().paused).toBe(true)
  return r
}

describe('buffered events of a regulated user', () => {
  it('revalidateLeases drops them at once: after the pause only the others reach CSB, and the purged user\'s key moves on', async () => {
    // A lease of a minute: its periodic extension (every 20 s) comes long after the pause.
    const r = (rig = await pausedWithBuffer(60_000))
    await r.store.suppress(['gone'], 'suppressed')
    expect(await r.store.purgeUsers(['erased'])).toMatchObject({ events: 1 })
    await r.delivery.revalidateLeases()
    expect(r.delivery.stats().buffered).toBe(1)
    // Not suppressed (a DELETE_ONLY): the user's next event is delivered, its key not held by the dropped copy.
    await enqueue(r.store, [feature('erased', 'e2')])
    await waitFor('kept, probe and e2 delivered', () => sentFor(r, 'kept').length === 2 && sentFor(r, 'erased').includes('e2') && sentFor(r, 'probe').length === 2, {
      timeoutMs: 15_000
    })
    await waitFor('every event settled', async () => (await r.store.counts()).delivered === 4)
    expect(sentFor(r, 'kept')).toEqual(['k1', 'k2'])
    expect(sentFor(r, 'gone')).toEqual([])
    expect(sentFor(r, 'erased')).toEqual(['e2'])
    expect(await r.store.counts()).toMatchObject({ delivered: 4, skipped: 2, pending: 0, inFlight: 0 })
  })

  it('without revalidateLeases, the periodic lease extension drops them before the pause ends', async () => {
    // Extended every 500 ms, well within the pause.
    const r = (rig = await pausedWithBuffer(1500))
    await r.store.suppress(['gone'], 'suppressed')
    await r.store.purgeUsers(['erased'])
    await waitFor('kept and probe delivered', () => sentFor(r, 'kept').length === 2 && sentFor(r, 'probe').length === 2, { timeoutMs: 15_000 })
    await waitFor('every event settled', async () => (await r.store.counts()).delivered === 3)
    expect(sentFor(r, 'gone')).toEqual([])
    expect(sentFor(r, 'erased')).toEqual([])
    expect(await r.store.counts()).toMatchObject({ delivered: 3, skipped: 2, pending: 0, inFlight: 0 })
  })
})

describe('running events of a regulated user', () => {
  it('revalidateLeases resolves only once a request already under way for them has ended', async () => {
    const r = (rig = await startRig({ delivery: { ...fastDelivery, leaseMs: 60_000 } }))
    r.sandbox.setFaults({ latency: { distribution: 'fixed', ms: 1500 } })
    await enqueue(r.store, [feature('erased', 'e1')])
    await waitFor('the request under way', () => r.delivery.stats().unrecorded === 1)
    await r.store.purgeUsers(['erased'])
    await r.delivery.revalidateLeases()
    expect(r.delivery.stats().unrecorded).toBe(0)
    expect(sentFor(r, 'erased')).toEqual(['e1'])
  })
})

describe('buffered events whose lease may have run out', () => {
  it('are dropped unsent, not started, when no extension answered in time: another instance may own them by then', async () => {
    const r = (rig = await pausedWithBuffer(1500))
    // The store answers this instance's extensions late (a long VACUUM, say): the leases run out meanwhile.
    const extend = r.store.extendLease.bind(r.store)
    r.store.extendLease = async (ids, leaseMs) => {
      await new Promise((resolve) => setTimeout(resolve, 2500))
      return extend(ids, leaseMs)
    }
    await new Promise((resolve) => setTimeout(resolve, 2000))
    // Another instance leases the three buffered events, as the store now lets it.
    const other = await r.store.lease({ limit: 10, leaseMs: 60_000, owner: 'other-instance' })
    expect(other.map((e) => e.event.event).sort()).toEqual(['e1', 'g1', 'k1'])
    // The store answers in time again (an extension slower than a lease would lapse every event).
    r.store.extendLease = extend
    await waitFor('the probe delivered after the pause', () => sentFor(r, 'probe').length === 2, { timeoutMs: 15_000 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect([...sentFor(r, 'gone'), ...sentFor(r, 'erased'), ...sentFor(r, 'kept')]).toEqual([])
    expect(r.logger.lines.some((l) => l.level === 'warn' && /lease may have run out .* dropped unsent/.test(l.msg ?? ''))).toBe(true)
  })
})
