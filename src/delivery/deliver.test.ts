/**
 * Delivering one event (deliver.ts), end to end inside one process: real SQLite store, real
 * sandbox over HTTP, the real destination through actions-core. Each outcome (delivered,
 * retrying, dead), what is recorded with it and what is reported.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { accepted, enqueue, segmentEvent, startRig, type Rig } from '../../test/helpers/delivery'
import { basicAuth } from '../../test/helpers/http'
import { silentLogger } from '../../test/helpers/logger'
import { waitFor } from '../../test/helpers/wait'

let rig: Rig | undefined
afterEach(async () => {
  await rig?.close()
  rig = undefined
})

const statusOf = async (r: Rig, id: string) => (await r.store.get(id))?.status

describe('delivering an event: outcomes', () => {
  it('delivers the seed calls and an Engage audience, filling the audience event\'s account from the identity map', async () => {
    rig = await startRig()
    const ids = await enqueue(rig.store, [
      segmentEvent({ type: 'identify', userId: 'userID123', traits: { account_id: '12345678', user_id: 'john.doe@company.com' } }),
      segmentEvent({ type: 'track', userId: 'userID123', event: 'Order Received', properties: { cost: '$120.00', account_id: '12345678', user_id: 'john.doe@company.com' } }),
      segmentEvent({ type: 'group', userId: 'userID123', groupId: 'accountId123', traits: { account_id: '12345678', name: 'ABC Group' } }),
      segmentEvent({ type: 'page', userId: 'userID123', name: 'orders', properties: { title: 'My Orders', account_id: '12345678', user_id: 'john.doe@company.com' } }),
      segmentEvent({
        type: 'identify',
        userId: 'userID123',
        traits: { order_completed_last_30days: true },
        context: { personas: { computation_class: 'audience', computation_key: 'order_completed_last_30days' } }
      })
    ])
    const r = rig
    await waitFor('all delivered', async () => (await Promise.all(ids.map((id) => statusOf(r, id)))).every((s) => s === 'delivered'))
    // Order is kept per ordering key (the CSB user when the event names one), not across keys.
    const paths = accepted(r.sandbox).map((q) => q.path)
    expect([...paths].sort()).toEqual(['/api/v1_1/account', '/api/v1_1/feature', '/api/v1_1/user', '/api/v1_1/user', '/api_js/v1_1/page'])
    expect(r.sandbox.requests()).toHaveLength(5)
    const users = accepted(r.sandbox, '/api/v1_1/user').map((q) => q.body)
    expect(users[0]).toMatchObject({ account_id: '12345678', user_id: 'john.doe@company.com' })
    expect(users[1]).toMatchObject({ account_id: '12345678', user_id: 'userID123', order_completed_last_30days: true })
    // Samples are kept for delivered events too, with the key redacted.
    const stored = await r.store.get(ids[0])
    expect(stored?.samples?.request).toMatchObject({ method: 'POST', url: `${r.sandbox.url}/api/v1_1/user`, headers: { authorization: '[redacted]' } })
    expect(stored?.samples?.response).toMatchObject({ status: 200 })
    expect(JSON.stringify(stored?.samples)).not.toContain(r.sandbox.apiKey)
    expect(r.outcomes.filter((o) => o.outcome === 'delivered')).toHaveLength(5)
  })

  it('dead-letters a 400 at once with reason and samples; replay after the fix delivers it', async () => {
    rig = await startRig()
    const r = rig
    r.sandbox.setFaults({ rules: [{ match: { path: '/api/v1_1/user' }, status: 400, message: 'bad attribute' }] })
    const [id] = await enqueue(r.store, [segmentEvent({ type: 'identify', userId: 'u1', traits: { account_id: 'a1', email: 'x@y.z' } })])
    const dead = await waitFor('dead letter', async () => ((await r.store.get(id))?.status === 'dead' ? r.store.get(id) : undefined))
    expect(dead?.attempts).toBe(1)
    expect(dead?.lastError).toMatch(/HTTP 400/)
    expect(dead?.lastStatus).toBe(400)
    expect(dead?.samples?.request).toMatchObject({ body: { account_id: 'a1', user_id: 'u1', email: 'x@y.z' }, headers: { authorization: '[redacted]' } })
    expect(dead?.samples?.response).toMatchObject({ status: 400 })
    expect(r.sandbox.requests()).toHaveLength(1)
    const line = r.logger.lines.find((l) => l.level === 'error')
    expect(line?.obj).toMatchObject({ eventId: id, status: 400 })
    expect(JSON.stringify(r.logger.lines)).not.toContain(r.sandbox.apiKey)

    r.sandbox.clearFaults()
    expect(await r.delivery.replay({ ids: [id] })).toBe(1)
    await waitFor('delivered after replay', async () => (await statusOf(r, id)) === 'delivered')
    expect(accepted(r.sandbox, '/api/v1_1/user')).toHaveLength(1)
  })

  it('dead-letters a 401 at once; setting the right key at runtime and replaying all delivers', async () => {
    rig = await startRig({ csb: undefined }, 'the-right-key')
    const r = rig
    r.delivery.setCsbSettings({ apiKey: 'a-wrong-key', baseUrl: r.sandbox.url })
    const ids = await enqueue(r.store, [
      segmentEvent({ type: 'identify', userId: 'u1', traits: { account_id: 'a1' } }),
      segmentEvent({ type: 'identify', userId: 'u2', traits: { account_id: 'a1' } })
    ])
    await waitFor('dead letters', async () => (await Promise.all(ids.map((id) => statusOf(r, id)))).every((s) => s === 'dead'))
    const dead = await r.store.get(ids[0])
    expect(dead?.lastStatus).toBe(401)
    expect(dead?.lastError).toMatch(/HTTP 401.*API key/)
    expect(JSON.stringify(dead)).not.toContain('a-wrong-key')
    r.delivery.setCsbSettings({ apiKey: 'the-right-key', baseUrl: r.sandbox.url })
    expect(await r.delivery.replay({ all: true })).toBe(2)
    await waitFor('delivered', async () => (await Promise.all(ids.map((id) => statusOf(r, id)))).every((s) => s === 'delivered'))
  })

  it('refuses invalid CSB settings at runtime with the reason', async () => {
    rig = await startRig({ csb: null })
    expect(() => rig?.delivery.setCsbSettings({ apiKey: 'k', baseUrl: 'ftp://example.com' })).toThrow(/CSB settings are invalid/)
  })

  it('dead-letters after the retry window', async () => {
    rig = await startRig({ delivery: { ...(await import('../../test/helpers/delivery')).fastDelivery, retryWindowMs: 400 } })
    const r = rig
    r.sandbox.setFaults({ errors: { '503': 1 } })
    const [id] = await enqueue(r.store, [segmentEvent({ type: 'identify', userId: 'u1', traits: { account_id: 'a1' } })])
    const dead = await waitFor('dead', async () => ((await r.store.get(id))?.status === 'dead' ? r.store.get(id) : undefined))
    expect(dead?.lastError).toMatch(/^retry window \(400 ms\) exhausted after \d+ attempts; last error HTTP 503/)
    expect(dead?.attempts).toBeGreaterThan(1)
  })

  it('an Engage event for a user whose account is unknown dead-letters naming account_id; replay after the account is learned delivers it', async () => {
    rig = await startRig()
    const r = rig
    const audience = segmentEvent({ type: 'identify', userId: 'u9', traits: { vip: true }, context: { personas: { computation_class: 'audience', computation_key: 'vip' } } })
    const [id] = await enqueue(r.store, [audience])
    const dead = await waitFor('dead', async () => ((await r.store.get(id))?.status === 'dead' ? r.store.get(id) : undefined))
    expect(dead?.lastError).toMatch(/account_id/)
    const [learn] = await enqueue(r.store, [segmentEvent({ type: 'group', userId: 'u9', groupId: 'acc-9', traits: {} })])
    await waitFor('group delivered', async () => (await statusOf(r, learn)) === 'delivered')
    await r.delivery.replay({ ids: [id] })
    await waitFor('delivered', async () => (await statusOf(r, id)) === 'delivered')
    expect(accepted(r.sandbox, '/api/v1_1/user')[0].body).toMatchObject({ account_id: 'acc-9', user_id: 'u9', vip: true })
  })

  it('sends the key as HTTP Basic when authScheme is basic, and keeps it out of the samples', async () => {
    rig = await startRig({ csb: null })
    const r = rig
    r.delivery.setCsbSettings({ apiKey: r.sandbox.apiKey, baseUrl: r.sandbox.url, authScheme: 'basic' })
    const [id] = await enqueue(r.store, [segmentEvent({ type: 'group', userId: 'u1', groupId: 'g1', traits: { name: 'G' } })])
    await waitFor('delivered', async () => (await statusOf(r, id)) === 'delivered')
    const header = basicAuth(r.sandbox.apiKey)
    expect(r.sandbox.requests()[0].headers.authorization).toBe(header)
    const stored = await r.store.get(id)
    expect(stored?.samples?.request).toMatchObject({ headers: { authorization: '[redacted]' } })
    // The credentials alone (base64 of "key:"), without the scheme.
    expect(JSON.stringify(stored)).not.toContain(header.slice('Basic '.length))
  })

  it('reports every outcome and the concurrency to the observer', async () => {
    rig = await startRig()
    const r = rig
    r.sandbox.setFaults({ rules: [{ match: { path: '/api/v1_1/user' }, status: 503, count: 1 }] })
    const ids = await enqueue(r.store, [
      segmentEvent({ type: 'identify', userId: 'u1', traits: { account_id: 'a1' } }),
      segmentEvent({ type: 'alias', userId: 'u2', previousId: 'x' })
    ])
    await waitFor('done', async () => (await statusOf(r, ids[0])) === 'delivered' && (await statusOf(r, ids[1])) === 'skipped')
    expect(r.outcomes.map((o) => o.outcome).sort()).toEqual(['delivered', 'retrying', 'skipped'])
    const retry = r.outcomes.find((o) => o.outcome === 'retrying')
    expect(retry).toMatchObject({ action: 'identifyUser', status: 503, attempts: 1, eventId: ids[0] })
    expect(retry?.reason).toMatch(/HTTP 503/)
    const delivered = r.outcomes.find((o) => o.outcome === 'delivered')
    expect(delivered).toMatchObject({ attempts: 2, status: 200 })
    expect(delivered?.endToEndMs).toBeGreaterThanOrEqual(0)
    expect(r.concurrency[0]).toBe(16)
    const warn = r.logger.lines.find((l) => l.level === 'warn' && l.obj.eventId === ids[0])
    expect(warn?.obj).toMatchObject({ status: 503, attempts: 1 })
    expect(String(warn?.obj.reason)).toMatch(/HTTP 503/)
  })
})

describe('delivering an event: late feature events', () => {
  it('sends a feature event\'s own timestamp and counts it when it falls on another UTC day than the send', async () => {
    rig = await startRig()
    const r = rig
    const yesterday = new Date(Date.now() - 26 * 3600_000).toISOString()
    const ids = await enqueue(r.store, [
      segmentEvent({ type: 'track', userId: 'u1', event: 'Old Report', timestamp: yesterday, properties: { account_id: 'acc' } }),
      segmentEvent({ type: 'track', userId: 'u2', event: 'New Report', properties: { account_id: 'acc' } }),
      segmentEvent({ type: 'identify', userId: 'u3', timestamp: yesterday, traits: { account_id: 'acc' } })
    ])
    await waitFor('all delivered', async () => (await Promise.all(ids.map((id) => statusOf(r, id)))).every((s) => s === 'delivered'))
    const features = accepted(r.sandbox, '/api/v1_1/feature').map((q) => q.body as { feature_id: string; timestamp: string })
    // Never rewritten: CSB gets the event's own time, and the relay counts it instead.
    expect(features.find((f) => f.feature_id === 'Old Report')?.timestamp).toBe(yesterday)
    const byId = new Map(r.outcomes.map((o) => [o.eventId, o]))
    expect(byId.get(ids[0])).toMatchObject({ outcome: 'delivered', lateFeatures: 1 })
    expect(byId.get(ids[1])?.lateFeatures).toBeUndefined()
    // Only feature events are aggregated per day: a late identify is not counted.
    expect(byId.get(ids[2])?.lateFeatures).toBeUndefined()
    expect(r.outcomes.filter((o) => o.lateFeatures)).toHaveLength(1)
  })
})

describe('delivering an event: poison events', () => {
  it('dead-letters an event whose routing throws instead of retrying it forever', async () => {
    const { openStore } = await import('../store')
    const { startDelivery } = await import('.')
    const { fastDelivery } = await import('../../test/helpers/delivery')
    const store = await openStore(':memory:')
    const delivery = startDelivery({
      store,
      config: { delivery: fastDelivery, csb: { apiKey: 'k', baseUrl: 'http://127.0.0.1:9' }, filters: [] },
      logger: silentLogger()
    })
    try {
      // A getter that throws stands in for an event no router expects.
      const event = segmentEvent({ type: 'track', userId: 'p', event: 'X' })
      const original = (store as unknown as { lease: (o: unknown) => Promise<Array<Record<string, unknown>>> }).lease.bind(store)
      ;(store as unknown as { lease: unknown }).lease = async (o: unknown) =>
        (await original(o)).map((e) => ({ ...e, event: Object.defineProperty({ ...(e.event as object) }, 'integrations', { get() { throw new Error('boom') }, enumerable: true }) }))
      const [id] = await enqueue(store, [event])
      await waitFor('dead', async () => (await store.get(id))?.status === 'dead')
      expect((await store.get(id))?.lastError).toBe('routing failed: boom')
    } finally {
      await delivery.stop()
      await store.close()
    }
  })
})

describe('delivering an event in worker threads (CSB_RELAY_DELIVERY_THREADS)', () => {
  it('delivers, classifies failures and keeps samples the same way as in the main thread', async () => {
    const { openStore } = await import('../store')
    const { startSandbox } = await import('../sandbox')
    const { startDelivery } = await import('.')
    const { fastDelivery } = await import('../../test/helpers/delivery')
    const store = await openStore(':memory:')
    const sandbox = await startSandbox({ port: 0 })
    const logger = silentLogger()
    const delivery = startDelivery({ store, config: { delivery: fastDelivery, csb: { apiKey: sandbox.apiKey, baseUrl: sandbox.url } }, logger, threads: 2 })
    try {
      sandbox.setFaults({ rules: [
        { match: { path: '/api/v1_1/account' }, status: 400, message: 'bad account' },
        { match: { path: '/api/v1_1/feature' }, status: 429, retryAfterSeconds: 0, count: 1 }
      ] })
      const ids = await enqueue(store, [
        segmentEvent({ type: 'identify', userId: 't1', traits: { account_id: 'a1' } }),
        segmentEvent({ type: 'group', userId: 't2', groupId: 'g2', traits: { name: 'G' } }),
        segmentEvent({ type: 'track', userId: 't3', event: 'Used', properties: { account_id: 'a1' } })
      ])
      await waitFor('settled', async () => {
        const s = await Promise.all(ids.map(async (id) => (await store.get(id))?.status))
        return s[0] === 'delivered' && s[1] === 'dead' && s[2] === 'delivered'
      })
      const dead = await store.get(ids[1])
      expect(dead?.lastError).toMatch(/HTTP 400.*bad account/)
      expect(dead?.samples?.request).toMatchObject({ url: `${sandbox.url}/api/v1_1/account`, headers: { authorization: '[redacted]' } })
      expect((await store.get(ids[2]))?.attempts).toBe(2)
      expect(logger.lines.filter((l) => l.msg?.includes('worker thread failed'))).toHaveLength(0)
    } finally {
      await delivery.stop()
      await sandbox.close()
      await store.close()
    }
  })
})
