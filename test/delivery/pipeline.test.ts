/**
 * Delivery end to end inside one process: real SQLite store, real sandbox over HTTP, the real
 * destination through actions-core.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store'
import { accepted, enqueue, fastDelivery, segmentEvent, startRig, waitFor, type Rig } from './helpers'

let rig: Rig | undefined
afterEach(async () => {
  await rig?.close()
  rig = undefined
})

const statusOf = async (r: Rig, id: string) => (await r.store.get(id))?.status

describe('delivery pipeline', () => {
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

  it('refuses invalid CSB settings at runtime with the reason', async () => {
    rig = await startRig({ csb: null })
    expect(() => rig?.delivery.setCsbSettings({ apiKey: 'k', baseUrl: 'ftp://example.com' })).toThrow(/CSB settings are invalid/)
  })

  it('skips alias and unsubscribed screen visibly, without calling CSB', async () => {
    rig = await startRig()
    const r = rig
    const ids = await enqueue(r.store, [
      segmentEvent({ type: 'alias', userId: 'u1', previousId: 'anon-1' }),
      segmentEvent({ type: 'screen', userId: 'u1', name: 'Home' })
    ])
    await waitFor('skipped', async () => (await Promise.all(ids.map((id) => statusOf(r, id)))).every((s) => s === 'skipped'))
    expect((await r.store.get(ids[0]))?.lastError).toBe('no subscription matches alias')
    expect((await r.store.get(ids[1]))?.lastError).toBe('no subscription matches screen')
    expect(r.outcomes.map((o) => o.outcome)).toEqual(['skipped', 'skipped'])
    expect(r.sandbox.requests()).toHaveLength(0)
  })

  it('skips events the integrations object turns off', async () => {
    rig = await startRig()
    const r = rig
    const [id] = await enqueue(r.store, [segmentEvent({ type: 'identify', userId: 'u1', traits: { account_id: 'a' }, integrations: { CustomerSuccessBox: false } })])
    await waitFor('skipped', async () => (await statusOf(r, id)) === 'skipped')
    expect(r.sandbox.requests()).toHaveLength(0)
  })

  it('uses subscriptions from the config instead of the presets: page views as features', async () => {
    rig = await startRig({
      subscriptions: [
        {
          name: 'Pages as features',
          subscribe: 'type = "page"',
          partnerAction: 'trackFeature',
          mapping: {
            account_id: { '@path': '$.properties.account_id' },
            user_id: { '@path': '$.userId' },
            feature_id: { '@path': '$.name' },
            module_id: 'Pages',
            timestamp: { '@path': '$.timestamp' }
          }
        }
      ]
    })
    const r = rig
    const ids = await enqueue(r.store, [
      segmentEvent({ type: 'page', userId: 'u1', name: 'Pricing', properties: { account_id: 'a1' } }),
      segmentEvent({ type: 'identify', userId: 'u1', traits: { account_id: 'a1' } })
    ])
    await waitFor('done', async () => (await statusOf(r, ids[0])) === 'delivered' && (await statusOf(r, ids[1])) === 'skipped')
    expect(accepted(r.sandbox).map((q) => q.path)).toEqual(['/api/v1_1/feature'])
    expect(accepted(r.sandbox)[0].body).toMatchObject({ account_id: 'a1', user_id: 'u1', feature_id: 'Pricing', module_id: 'Pages' })
  })

  it('runs every matching subscription; after a retry only the ones not yet delivered run again', async () => {
    rig = await startRig({
      subscriptions: [
        { name: 'as page', subscribe: 'type = "page"', partnerAction: 'trackPage', mapping: undefined as never },
        { name: 'as feature', subscribe: 'type = "page"', partnerAction: 'trackFeature', mapping: { account_id: { '@path': '$.properties.account_id' }, user_id: { '@path': '$.userId' }, feature_id: { '@path': '$.name' } } }
      ].map((s) => (s.mapping ? s : { ...s, mapping: { account_id: { '@path': '$.properties.account_id' }, user_id: { '@path': '$.userId' }, name: { '@path': '$.name' } } }))
    })
    const r = rig
    r.sandbox.setFaults({ rules: [{ match: { path: '/api/v1_1/feature' }, status: 503, count: 1 }] })
    const [id] = await enqueue(r.store, [segmentEvent({ type: 'page', userId: 'u1', name: 'Home', properties: { account_id: 'a1' } })])
    await waitFor('delivered', async () => (await statusOf(r, id)) === 'delivered')
    expect(r.sandbox.requests().map((q) => `${q.path} ${q.status}`)).toEqual(['/api_js/v1_1/page 200', '/api/v1_1/feature 503', '/api/v1_1/feature 200'])
  })

  it('dead-letters after the retry window', async () => {
    rig = await startRig({ delivery: { ...(await import('./helpers')).fastDelivery, retryWindowMs: 400 } })
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

  it('dry run: shows the matching action and the exact request without sending; send=true sends it', async () => {
    rig = await startRig()
    const r = rig
    const event = { type: 'track', userId: 'u1', event: 'Report Exported', properties: { account_id: 'a1' } }
    const result = await r.delivery.test(event)
    expect(result).toMatchObject({ deliver: true, sent: false, matches: [{ partnerAction: 'trackFeature', request: { method: 'POST', url: `${r.sandbox.url}/api/v1_1/feature`, headers: { authorization: '[redacted]' }, body: { account_id: 'a1', user_id: 'u1', feature_id: 'Report Exported' } } }] })
    expect(r.sandbox.requests()).toHaveLength(0)
    const sent = await r.delivery.test(event, { send: true })
    expect(sent).toMatchObject({ sent: true, matches: [{ response: { status: 200 } }] })
    expect(r.sandbox.requests()).toHaveLength(1)
    expect(await r.delivery.test({ type: 'alias', userId: 'x' })).toMatchObject({ deliver: false, skipReason: 'no subscription matches alias' })
  })

  it('sends the key as HTTP Basic when authScheme is basic, and keeps it out of the samples', async () => {
    rig = await startRig({ csb: null })
    const r = rig
    r.delivery.setCsbSettings({ apiKey: r.sandbox.apiKey, baseUrl: r.sandbox.url, authScheme: 'basic' })
    const [id] = await enqueue(r.store, [segmentEvent({ type: 'group', userId: 'u1', groupId: 'g1', traits: { name: 'G' } })])
    await waitFor('delivered', async () => (await statusOf(r, id)) === 'delivered')
    expect(r.sandbox.requests()[0].headers.authorization).toBe(`Basic ${Buffer.from(`${r.sandbox.apiKey}:`).toString('base64')}`)
    const stored = await r.store.get(id)
    expect(stored?.samples?.request).toMatchObject({ headers: { authorization: '[redacted]' } })
    expect(JSON.stringify(stored)).not.toContain(Buffer.from(`${r.sandbox.apiKey}:`).toString('base64'))
  })

  it('never exceeds maxRatePerSecond', async () => {
    const { fastDelivery } = await import('./helpers')
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

describe('delivery pipeline: concurrency', () => {
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

describe('delivery pipeline: identity links', () => {
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
      await waitFor('4 requests answered while the links wait', () => sent().length === 4, 5000)
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(sent()).toHaveLength(4)
      const statuses = await Promise.all(ids.map(async (id) => (await store.get(id))?.status))
      expect(statuses.filter((s) => s === 'delivered')).toHaveLength(0)
      // User a's second event waits for the first to be recorded, which waits for its links.
      expect(sent().filter((b) => b.user_id === 'a').map((b) => b.feature_id)).toEqual(['E1'])
      open()
      await waitFor('all delivered', async () => (await Promise.all(ids.map(async (id) => (await store.get(id))?.status))).every((s) => s === 'delivered'), 5000)
      expect(sent().filter((b) => b.user_id === 'a').map((b) => b.feature_id)).toEqual(['E1', 'E2'])
      expect(await store.accountsFor(['a', 'f'])).toEqual(new Map([['a', 'acc-a'], ['f', 'acc-f']]))
    } finally {
      open()
    }
  })
})

describe('delivery pipeline: leasing', () => {
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
      await waitFor('the 6 events of the first lease delivered while the second is under way', () => delivered() === 6 && leases === 2, 5000)
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

describe('delivery pipeline: late feature events', () => {
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

describe('delivery pipeline: poison events', () => {
  it('dead-letters an event whose routing throws instead of retrying it forever', async () => {
    const { openStore } = await import('../../src/store')
    const { startDelivery } = await import('../../src/delivery')
    const { fastDelivery, silentLogger } = await import('./helpers')
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

describe('delivery pipeline in worker threads (CSB_RELAY_DELIVERY_THREADS)', () => {
  it('delivers, classifies failures and keeps samples the same way as in the main thread', async () => {
    const { openStore } = await import('../../src/store')
    const { startSandbox } = await import('../../src/sandbox')
    const { startDelivery } = await import('../../src/delivery')
    const { fastDelivery, silentLogger } = await import('./helpers')
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
