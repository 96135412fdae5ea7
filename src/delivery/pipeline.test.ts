/**
 * The scheduler (pipeline.ts, leases.ts): order per key, concurrency and rate limits, keys held
 * until their outcome is recorded, leasing beside the loop, stop. End to end inside one process:
 * real SQLite store, real sandbox over HTTP, the real destination through actions-core.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Pipeline } from './pipeline'
import type { Executor } from './executor'
import { compileSubscriptions } from './subscriptions'
import { openStore, type Store } from '../store'
import { accepted, enqueue, fastDelivery, segmentEvent, startRig, type Rig } from '../../test/helpers/delivery'
import { silentLogger } from '../../test/helpers/logger'
import { waitFor } from '../../test/helpers/wait'

let rig: Rig | undefined
afterEach(async () => {
  await rig?.close()
  rig = undefined
})

const statusOf = async (r: Rig, id: string) => (await r.store.get(id))?.status

describe('scheduling: order and configuration', () => {
  it('keeps order per user under failure and does not hold back other users', async () => {
    rig = await startRig()
    const r = rig
    r.sandbox.setFaults({ rules: [{ match: { path: '/api/v1_1/feature', body: { feature_id: 'a1' } }, status: 503, forSeconds: 1 }] })
    const events = [
      ...['a1', 'a2', 'a3', 'a4'].map((name) => segmentEvent({ type: 'track', userId: 'ua', event: name, properties: { account_id: 'acc' } })),
      ...['b1', 'b2', 'b3', 'b4'].map((name) => segmentEvent({ type: 'track', userId: 'ub', event: name, properties: { account_id: 'acc' } }))
    ]
    const ids = await enqueue(r.store, events)
    await waitFor('all delivered', async () => (await Promise.all(ids.map((id) => statusOf(r, id)))).every((s) => s === 'delivered'))
    const ok = accepted(r.sandbox, '/api/v1_1/feature').map((q) => (q.body as { feature_id: string }).feature_id)
    expect(ok.filter((f) => f.startsWith('a'))).toEqual(['a1', 'a2', 'a3', 'a4'])
    expect(ok.filter((f) => f.startsWith('b'))).toEqual(['b1', 'b2', 'b3', 'b4'])
    // ub's events all went through before ua's first event finally did.
    expect(ok.indexOf('b4')).toBeLessThan(ok.indexOf('a1'))
    const failures = r.sandbox.requests({ path: '/api/v1_1/feature' }).filter((q) => q.status === 503)
    expect(failures.length).toBeGreaterThan(0)
    expect(failures.every((q) => (q.body as { feature_id: string }).feature_id === 'a1')).toBe(true)
    expect(r.outcomes.filter((o) => o.outcome === 'retrying').length).toBe(failures.length)
  })

  it('holds events while CSB is not configured and delivers them once it is', async () => {
    rig = await startRig({ csb: null })
    const r = rig
    const ids = await enqueue(r.store, [segmentEvent({ type: 'identify', userId: 'u1', traits: { account_id: 'a1' } })])
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(r.sandbox.requests()).toHaveLength(0)
    expect((await r.store.get(ids[0]))?.status).toBe('pending')
    expect((await r.store.get(ids[0]))?.attempts).toBe(0)
    expect(r.delivery.stats().csbConfigured).toBe(false)
    r.delivery.setCsbSettings({ apiKey: r.sandbox.apiKey, baseUrl: r.sandbox.url })
    await waitFor('delivered', async () => (await statusOf(r, ids[0])) === 'delivered')
  })
})

describe('scheduling: rate', () => {
  it('never exceeds maxRatePerSecond', async () => {
    const { fastDelivery } = await import('../../test/helpers/delivery')
    rig = await startRig({ delivery: { ...fastDelivery, maxRatePerSecond: 20 } })
    const r = rig
    const events = Array.from({ length: 50 }, (_, i) => segmentEvent({ type: 'track', userId: `r${i}`, event: 'X', properties: { account_id: 'a' } }))
    await enqueue(r.store, events)
    await waitFor('50 delivered', async () => (await r.store.counts()).delivered === 50)
    const times = r.sandbox.requests().map((q) => Date.parse(q.at))
    // In any one-second window: at most the rate plus the bucket's burst (a tenth of a second's worth).
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(22)
    expect(times[times.length - 1] - times[0]).toBeGreaterThanOrEqual(2000)
  })
})

describe('scheduling: concurrency', () => {
  it('never has more requests to CSB in flight than the concurrency limit, and uses all of it', async () => {
    // A CSB that answers after 20 ms and counts requests in flight.
    let inFlight = 0
    let most = 0
    let served = 0
    const csb = http.createServer((req, res) => {
      inFlight++
      most = Math.max(most, inFlight)
      req.resume()
      req.on('end', () =>
        setTimeout(() => {
          inFlight--
          served++
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}')
        }, 20)
      )
    })
    await new Promise<void>((resolve) => csb.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = csb.address() as AddressInfo
      rig = await startRig({
        csb: { apiKey: 'concurrency-test-key', baseUrl: `http://127.0.0.1:${port}` },
        delivery: { ...fastDelivery, adaptive: false, maxConcurrency: 4, initialConcurrency: 4 }
      })
      const r = rig
      const ids = await enqueue(r.store, Array.from({ length: 60 }, (_, i) => segmentEvent({ type: 'track', userId: `u${i}`, event: 'E', properties: { account_id: 'acc' } })))
      await waitFor('all delivered', async () => (await Promise.all(ids.map((id) => statusOf(r, id)))).every((s) => s === 'delivered'))
      expect(served).toBe(60)
      expect(most).toBe(4)
    } finally {
      await new Promise((resolve) => csb.close(resolve))
    }
  })
})

describe('scheduling: keys held for their identity links', () => {
  it('frees an event\'s slot at CSB\'s answer while its links are still being committed; its key waits for them', async () => {
    const store = await openStore(':memory:')
    // Every track below names its account, so each teaches a link; link writes wait for the gate.
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const link = store.linkIdentities.bind(store)
    ;(store as { linkIdentities: typeof store.linkIdentities }).linkIdentities = async (links) => {
      await gate
      return link(links)
    }
    const track = (userId: string, n: number) => segmentEvent({ type: 'track', userId, event: `E${n}`, properties: { account_id: `acc-${userId}` } })
    const ids = await enqueue(store, [track('a', 1), track('a', 2), ...['b', 'c', 'd', 'e', 'f'].map((u) => track(u, 1))])
    rig = await startRig({ delivery: { ...fastDelivery, adaptive: false, maxConcurrency: 2, initialConcurrency: 2 } }, undefined, 0, store)
    const { sandbox } = rig
    const sent = () => sandbox.requests().filter((q) => q.status === 200).map((q) => (q.body as { user_id?: string; feature_id?: string }))
    try {
      // Concurrency 2: with the links held, answered events free their slots and more start, up to
      // the bound on events sent but not recorded (2 × 2); none is recorded before its links.
      await waitFor('4 requests answered while the links wait', () => sent().length === 4, { timeoutMs: 5000 })
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(sent()).toHaveLength(4)
      const statuses = await Promise.all(ids.map(async (id) => (await store.get(id))?.status))
      expect(statuses.filter((s) => s === 'delivered')).toHaveLength(0)
      // User a's second event waits for the first to be recorded, which waits for its links.
      expect(sent().filter((b) => b.user_id === 'a').map((b) => b.feature_id)).toEqual(['E1'])
      open()
      await waitFor('all delivered', async () => (await Promise.all(ids.map(async (id) => (await store.get(id))?.status))).every((s) => s === 'delivered'), { timeoutMs: 5000 })
      expect(sent().filter((b) => b.user_id === 'a').map((b) => b.feature_id)).toEqual(['E1', 'E2'])
      expect(await store.accountsFor(['a', 'f'])).toEqual(new Map([['a', 'acc-a'], ['f', 'acc-f']]))
    } finally {
      open()
    }
  })
})

describe('scheduling: leasing', () => {
  it('goes on starting buffered events while a lease is under way, and stop() gives back what that lease took', async () => {
    const store = await openStore(':memory:')
    const ids = await enqueue(store, Array.from({ length: 12 }, (_, i) => segmentEvent({ type: 'track', userId: `l${i}`, event: 'E', properties: { account_id: 'acc' } })))
    // Every lease after the first waits until the test lets it answer.
    let leases = 0
    let answer!: () => void
    const gate = new Promise<void>((resolve) => (answer = resolve))
    const original = store.lease.bind(store)
    ;(store as { lease: typeof store.lease }).lease = async (options) => {
      if (leases++ > 0) await gate
      return original(options)
    }
    // Concurrency 4: the first lease buffers 6 events (1.5 × 4), 4 start, and the next lease is
    // asked for while 2 wait in the buffer; they must not wait for it.
    rig = await startRig({ delivery: { ...fastDelivery, adaptive: false, maxConcurrency: 4, initialConcurrency: 4 } }, undefined, 0, store)
    const { sandbox, delivery } = rig
    const delivered = () => sandbox.requests().filter((q) => q.status === 200).length
    try {
      await waitFor('the 6 events of the first lease delivered while the second is under way', () => delivered() === 6 && leases === 2, { timeoutMs: 5000 })
      // stop() waits for the lease under way; the events it took are given back, not left leased.
      const stopped = delivery.stop()
      await new Promise((resolve) => setTimeout(resolve, 50))
      answer()
      await stopped
      expect(delivered()).toBe(6)
      const statuses = await Promise.all(ids.map(async (id) => (await store.get(id))?.status))
      expect(statuses.filter((s) => s === 'delivered')).toHaveLength(6)
      expect(statuses.filter((s) => s === 'pending')).toHaveLength(6)
      // Given back at once: leasable now, long before the lease (5 s) would have run out.
      const again = await original({ limit: 20, leaseMs: 1000, owner: 'other', excludeKeys: new Set() })
      expect(again).toHaveLength(6)
    } finally {
      answer()
    }
  })
})

describe('scheduling: waking the loop and stopping', () => {
  const subscriptions = compileSubscriptions([{ name: 'tracks', subscribe: 'type = "track"', partnerAction: 'trackFeature', mapping: {} }], { actions: { trackFeature: {} } })
  const track = (userId: string, n = 1) => segmentEvent({ type: 'track', userId, event: `E${n}`, properties: { account_id: 'acc' } })

  /** An executor that answers every subscription after `answer` resolves (and a few ms). */
  function fakeExecutor(answer: () => Promise<void> = async () => {}) {
    const runs: string[] = []
    const executor: Executor = {
      threads: 0,
      async run(task) {
        runs.push(String(task.event.event))
        await answer()
        await new Promise((resolve) => setTimeout(resolve, 5))
        return { results: task.subscriptions.map((subscription) => ({ subscription, action: 'trackFeature', exchanges: [] })), failed: null }
      },
      close: async () => {}
    }
    return { executor, runs }
  }

  /** A pipeline whose timers alone would wait a minute (poll) or ten (a slot): only wakes make it prompt. */
  async function startPipeline(executor: Executor, concurrency = 1) {
    const store = await openStore(':memory:')
    const logger = silentLogger()
    const settings = { ...fastDelivery, pollIntervalMs: 60_000, adaptive: false, maxConcurrency: concurrency, initialConcurrency: concurrency }
    const pipeline = new Pipeline({ store, settings, executor, subscriptions, logger, observer: {}, instanceId: 'test', csb: { apiKey: 'k', baseUrl: 'http://127.0.0.1:9' } })
    pipeline.start()
    return { store, logger, pipeline }
  }

  const statuses = async (store: Store, ids: string[]) => Promise.all(ids.map(async (id) => (await store.get(id))?.status))

  it('new events (wake), freed slots and recorded outcomes each wake the loop at once', async () => {
    const { executor, runs } = fakeExecutor()
    const { store, pipeline } = await startPipeline(executor)
    try {
      await new Promise((resolve) => setTimeout(resolve, 50))
      // Concurrency 1: each event after the first starts only when a slot frees or a key's outcome is recorded.
      const ids = await enqueue(store, [track('a', 1), track('a', 2), track('b'), track('c')])
      pipeline.wake()
      await waitFor('all delivered', async () => (await statuses(store, ids)).every((s) => s === 'delivered'), { timeoutMs: 3000 })
      expect(runs).toHaveLength(4)
      expect(runs.indexOf('E1')).toBeLessThan(runs.indexOf('E2'))
      expect(await pipeline.stop()).toBe('recorded')
    } finally {
      await store.close()
    }
  })

  it('stop() waits for a running event to be recorded', async () => {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const { executor, runs } = fakeExecutor(() => gate)
    const { store, pipeline } = await startPipeline(executor)
    try {
      const [id] = await enqueue(store, [track('a')])
      pipeline.wake()
      await waitFor('the event running', () => runs.length === 1, { timeoutMs: 3000 })
      const stopped = pipeline.stop(5000)
      setTimeout(open, 50)
      expect(await stopped).toBe('recorded')
      expect((await store.get(id))?.status).toBe('delivered')
    } finally {
      open()
      await store.close()
    }
  })

  it('stop(timeoutMs) gives up after the timeout, says so, and leaves the running event leased', async () => {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const { executor, runs } = fakeExecutor(() => gate)
    const { store, logger, pipeline } = await startPipeline(executor)
    try {
      const [id] = await enqueue(store, [track('a')])
      pipeline.wake()
      await waitFor('the event running', () => runs.length === 1, { timeoutMs: 3000 })
      const started = Date.now()
      expect(await pipeline.stop(100)).toBe('timed-out')
      expect(Date.now() - started).toBeLessThan(1000)
      expect(logger.lines.find((l) => l.level === 'warn')?.obj).toMatchObject({ unrecorded: 1, timeoutMs: 100 })
      expect((await store.get(id))?.status).toBe('pending')
      expect(await store.lease({ limit: 10, leaseMs: 1000, owner: 'other', excludeKeys: new Set() })).toHaveLength(0)
    } finally {
      open()
      await new Promise((resolve) => setTimeout(resolve, 50))
      await store.close()
    }
  })
})
