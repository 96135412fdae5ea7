import Fastify, { type FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStore } from '../store'
import type { Store } from '../store/types'
import { opsPlugin, type OpsOptions } from './index'
import { buildOverview } from './overview'
import { parsePeriod, type Period } from './period'
import { trackEvent } from '../../test/helpers/events'

const API_KEY = 'csb_SECRET_apikey_0123456789'
const WRITE_KEY = 'wk_SECRET_write_98765'
const TOKEN = 'admin-token-abcdef'


describe('admin API', () => {
  let store: Store
  let app: FastifyInstance
  let options: Partial<OpsOptions>

  async function build(extra: Partial<OpsOptions> = {}) {
    options = {
      registry: new Registry(),
      store,
      config: { csb: { apiKey: '[redacted, 28 chars]', baseUrl: 'http://127.0.0.1:9' } },
      secrets: [API_KEY, WRITE_KEY],
      ...extra
    }
    app = Fastify()
    await app.register(opsPlugin, options as OpsOptions)
    await app.ready()
  }

  beforeEach(async () => {
    store = await openStore(':memory:')
  })
  afterEach(async () => {
    await app?.close()
    await store.close()
  })

  /** Three events: one delivered, one dead (its reason mentions the API key), one skipped. */
  async function seed() {
    const ids = (await store.enqueue([trackEvent(1), trackEvent(2), trackEvent(3)])).map((r) => r.id)
    const leased = await store.lease({ limit: 10, leaseMs: 60_000, owner: 'test' })
    expect(leased).toHaveLength(3)
    await store.complete([{ id: ids[0], action: 'trackFeature', status: 200, samples: { request: { url: '/api/v1_1/feature', headers: { authorization: '[redacted]' }, body: { feature_id: 'Feature 1' } }, response: { status: 200, body: { success: true } } } }])
    await store.deadLetter([{ id: ids[1], reason: `HTTP 401: key ${API_KEY} rejected`, action: 'trackFeature', status: 401, samples: { request: { body: {} }, response: { status: 401, body: { error: `bad key ${API_KEY}` } } } }])
    await store.skip([{ id: ids[2], reason: 'integrations.CustomerSuccessBox is false' }])
    return ids
  }

  it('counts events admitted but not yet moved into the queue (an ingest burst) in the backlog', async () => {
    await build()
    await store.admit(Array.from({ length: 300 }, (_, i) => trackEvent(100 + i)))
    // Right after the commit, before the store's background move had a turn.
    const o = await buildOverview(store, parsePeriod('1h') as Period)
    expect(o.backlog).toMatchObject({ admitted: 300, pending: 0, total: 300 })
    const later = (await app.inject('/api/overview?period=1h')).json()
    expect(later.backlog).toMatchObject({ admitted: 0, pending: 300, total: 300 })
  })

  it('summarises a period: counts, rates, a zero-filled series, p95 and errors with a fix', async () => {
    await build()
    await seed()
    const res = await app.inject('/api/overview?period=1h')
    expect(res.statusCode).toBe(200)
    const o = res.json()
    expect(o.totals).toMatchObject({ ingested: 3, delivered: 1, dead: 1, skipped: 1, retrying: 0 })
    expect(o.perMinute.ingested).toBeCloseTo(3 / 60, 2)
    expect(o.bucketSeconds).toBe(60)
    expect(o.series).toHaveLength(60)
    expect(o.series.reduce((n: number, p: { delivered: number }) => n + p.delivered, 0)).toBe(1)
    // One delivered, one dead: the skip counts neither way.
    expect(o.successRate).toBe(0.5)
    expect(o.latency.p95Ms).toBeGreaterThanOrEqual(0)
    expect(o.stored).toEqual({ delivered: 1, dead: 1, skipped: 1 })
    expect(o.backlog.total).toBe(0)
    // Skips are listed beside errors (their reason is why nothing was sent), after them when fewer.
    expect(o.reasons.map((r: { status: string }) => r.status).sort()).toEqual(['dead', 'skipped'])
    const dead = o.reasons.find((r: { status: string }) => r.status === 'dead')
    expect(dead).toMatchObject({ status: 'dead', count: 1 })
    expect(dead.fix).toMatch(/CSB_API_KEY/)
    expect(res.body).not.toContain(API_KEY)

    expect((await app.inject('/api/overview?period=7d')).json().bucketSeconds).toBe(10800)
    const bad = await app.inject('/api/overview?period=forever')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error).toMatch(/period/)
  })

  it('says in the overview what the store keeps and for how long, from the configuration', async () => {
    await build({ config: { store: { retentionDays: 7, deadLetterRetentionDays: 30 } } })
    const o = (await app.inject('/api/overview?period=1h')).json()
    expect(o.retention).toMatch(/for 7 days after they finish; dead letters for 30 days/)
    await app.close()
    await build()
    expect((await app.inject('/api/overview?period=1h')).json().retention).toBeNull()
  })

  it('lists events by status and shows one event with its three samples, secrets scrubbed', async () => {
    await build()
    const ids = await seed()
    const dead = (await app.inject('/api/events?status=dead')).json()
    expect(dead.events.map((e: { id: string }) => e.id)).toEqual([ids[1]])
    expect(dead.events[0]).toMatchObject({ status: 'dead', action: 'trackFeature', lastStatus: 401, name: 'Feature 2', userId: 'user-2' })
    expect(dead.events[0].fix).toMatch(/CSB_API_KEY/)
    expect(JSON.stringify(dead)).not.toContain(API_KEY)

    const all = (await app.inject('/api/events?limit=2')).json()
    expect(all.events).toHaveLength(2)
    const older = (await app.inject(`/api/events?limit=2&beforeId=${all.nextBeforeId}`)).json()
    expect(older.events).toHaveLength(1)

    const detail = await app.inject(`/api/events/${ids[0]}`)
    expect(detail.statusCode).toBe(200)
    const d = detail.json()
    expect(d.samples.received).toMatchObject({ type: 'track', event: 'Feature 1' })
    expect(d.samples.request).toMatchObject({ body: { feature_id: 'Feature 1' } })
    expect(d.samples.response).toMatchObject({ status: 200 })

    const deadDetail = await app.inject(`/api/events/${ids[1]}`)
    expect(deadDetail.body).not.toContain(API_KEY)
    expect(deadDetail.json().samples.response.body.error).toBe('bad key [redacted]')

    expect((await app.inject('/api/events/999999')).statusCode).toBe(404)
    expect((await app.inject('/api/events/not-an-id')).statusCode).toBe(404)
    expect((await app.inject('/api/events?status=lost')).statusCode).toBe(400)
    expect((await app.inject('/api/events?limit=0')).statusCode).toBe(400)
    const missing = await app.inject('/api/nothing-here')
    expect(missing.statusCode).toBe(404)
    expect(missing.json().error).toMatch(/no admin route GET \/api\/nothing-here/)
    const badJson = await app.inject({ method: 'POST', url: '/api/replay', headers: { 'content-type': 'application/json' }, payload: '{nope' })
    expect(badJson.statusCode).toBe(400)
    expect(typeof badJson.json().error).toBe('string')
  })

  it('replays one dead letter, a set by reason, or all, and refuses a vague request', async () => {
    await build()
    const ids = await seed()
    expect((await app.inject({ method: 'POST', url: '/api/replay', payload: {} })).statusCode).toBe(400)
    expect((await app.inject({ method: 'POST', url: '/api/replay', payload: { ids: [] } })).statusCode).toBe(400)
    expect((await app.inject({ method: 'POST', url: '/api/replay', payload: { reason: 'HTTP 500' } })).json()).toEqual({ replayed: 0 })
    expect((await app.inject({ method: 'POST', url: '/api/replay', payload: { reason: 'HTTP 401' } })).json()).toEqual({ replayed: 1 })
    await store.lease({ limit: 10, leaseMs: 60_000, owner: 'test' })
    await store.deadLetter([{ id: ids[1], reason: 'HTTP 401: again' }])
    const res = await app.inject({ method: 'POST', url: '/api/replay', payload: { ids: [ids[1]] } })
    expect(res.json()).toEqual({ replayed: 1 })
    expect((await store.get(ids[1]))!.status).toBe('pending')
    expect((await app.inject({ method: 'POST', url: '/api/replay', payload: { all: true } })).json()).toEqual({ replayed: 0 })
  })

  it('uses the replay and tester callbacks it is given, and scrubs what they return', async () => {
    const calls: unknown[] = []
    await build({
      replay: async (filter) => { calls.push(filter); return 7 },
      testEvent: async (event, { send }) => ({ matched: 'trackFeature', send, echo: event, key: API_KEY })
    })
    expect((await app.inject({ method: 'POST', url: '/api/replay', payload: { all: true, reason: '429' } })).json()).toEqual({ replayed: 7 })
    expect(calls).toEqual([{ all: true, reason: '429' }])
    await app.inject({ method: 'POST', url: '/api/replay', payload: { reason: 'HTTP 5' } })
    expect(calls[1]).toEqual({ all: true, reason: 'HTTP 5' })
    const tested = await app.inject({ method: 'POST', url: '/api/test-event', payload: { event: { type: 'track', event: 'X' }, send: true } })
    expect(tested.statusCode).toBe(200)
    expect(tested.json().result).toMatchObject({ matched: 'trackFeature', send: true, key: '[redacted]' })
    expect((await app.inject({ method: 'POST', url: '/api/test-event', payload: { event: 'no' } })).statusCode).toBe(400)
    expect((await app.inject({ method: 'POST', url: '/api/test-event', payload: { event: { userId: 'x' } } })).json().error).toMatch(/type/)
  })

  it('says when the tester or the CSB check is not available', async () => {
    await build()
    const t = await app.inject({ method: 'POST', url: '/api/test-event', payload: { event: { type: 'track' } } })
    expect(t.statusCode).toBe(503)
    expect((await app.inject('/api/csb-check')).json()).toMatchObject({ configured: false, ok: false })
    expect((await app.inject('/api/config')).json()).toEqual({ config: options.config, engine: 'sqlite' })
  })

  it('reports a CSB check that fails or hangs as not ok, with the reason', async () => {
    await build({ checkCsb: async () => { throw new Error('connection refused') } })
    expect((await app.inject('/api/csb-check')).json()).toMatchObject({ configured: true, ok: false, message: expect.stringMatching(/connection refused/) })
  })

  it('lets CSB settings change without a token only from this machine, and answers 503 when the relay cannot change them', async () => {
    const given: unknown[] = []
    const state = { configured: false, source: null, baseUrl: null, authScheme: null }
    await build({ csb: { state: () => state, set: async (body) => (given.push(body), { ...state, configured: true }) } })
    const body = { apiKey: API_KEY, baseUrl: 'https://acme.customersuccessbox.com' }
    const remote = await app.inject({ method: 'PUT', url: '/api/csb', payload: body, remoteAddress: '203.0.113.9' })
    expect(remote.statusCode).toBe(403)
    expect(remote.json().error).toMatch(/only from this machine .*set CSB_RELAY_ADMIN_TOKEN/)
    expect(given).toHaveLength(0)
    const local = await app.inject({ method: 'PUT', url: '/api/csb', payload: body, remoteAddress: '127.0.0.1' })
    expect(local.statusCode).toBe(200)
    expect(given).toEqual([body])
    // Without a token, reading is for this machine only too (admin-auth.test.ts has the rest).
    expect((await app.inject({ url: '/api/csb', remoteAddress: '203.0.113.9' })).statusCode).toBe(403)
    expect((await app.inject({ url: '/api/csb', remoteAddress: '127.0.0.1' })).json()).toEqual(state)

    await app.close()
    await build()
    expect((await app.inject({ method: 'PUT', url: '/api/csb', payload: body })).statusCode).toBe(503)
    expect((await app.inject('/api/csb')).statusCode).toBe(503)
  })

  describe('with an admin token', () => {
    beforeEach(async () => {
      await build({ adminToken: TOKEN })
    })

    it('requires Authorization: Bearer <token> on every /api route', async () => {
      for (const url of ['/api/overview', '/api/events', '/api/events/1', '/api/config', '/api/csb-check', '/api/reasons']) {
        const none = await app.inject(url)
        expect(none.statusCode, url).toBe(401)
        expect(none.json().error).toMatch(/CSB_RELAY_ADMIN_TOKEN/)
        expect(none.body).not.toContain(TOKEN)
        expect((await app.inject({ url, headers: { authorization: 'Bearer wrong' } })).statusCode, url).toBe(401)
      }
      expect((await app.inject({ method: 'POST', url: '/api/replay', payload: { all: true } })).statusCode).toBe(401)
      const ok = await app.inject({ url: '/api/overview', headers: { authorization: `Bearer ${TOKEN}` } })
      expect(ok.statusCode).toBe(200)
    })

    it('serves the dashboard page itself without the token (it asks for it), and /metrics', async () => {
      const page = await app.inject('/')
      expect(page.statusCode).toBe(200)
      expect(page.headers['content-type']).toContain('text/html')
      expect(page.headers['content-security-policy']).toContain("connect-src 'self'")
      const api = await app.inject('/assets/api.js')
      expect(api.statusCode).toBe(200)
      expect(api.body).toContain('headers.authorization = `Bearer ${token}`')
      for (const body of [page.body, api.body]) expect(body).not.toMatch(/https?:\/\/(?!www\.w3\.org)/)
      expect((await app.inject('/metrics')).statusCode).toBe(200)
    })
  })
})
