/**
 * POST /v1/webhook on the ingest plugin alone (fake store): authentication per source, events
 * kept as sent, dedupe, limits, errors. Segment's own webhook code against the built relay is in
 * segment-webhook.test.ts.
 */
import { createHmac } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { ingestPlugin } from '.'
import { fakeStore, type FakeStore } from '../../test/helpers/fake-store'
import { fakeRegulations, type FakeRegulations } from '../../test/helpers/fake-regulations'
import { basicAuth } from '../../test/helpers/http'
import { testLimits } from '../../test/helpers/ingest-app'

const SOURCES = [
  { name: 'web', writeKey: 'wk-web-0123456' },
  { name: 'segment', writeKey: 'wk-segment-0123456', sharedSecret: 'shh-segment-0123456', acceptDeletions: true },
  { name: 'ops', writeKey: 'wk-ops-0123456', acceptDeletions: true }
]
const SECRET = SOURCES[1]!.sharedSecret!
const WEBHOOK_LIMIT = 4 * 1024 * 1024

let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

let regulationsCreated = 0

async function setup(options: { parseThreads?: number; opaque?: boolean } = {}): Promise<FakeStore & FakeRegulations> {
  const store = Object.assign(fakeStore(), fakeRegulations())
  if (options.opaque) (store as { keepsOpaqueBatches: boolean }).keepsOpaqueBatches = true
  regulationsCreated = 0
  app = Fastify()
  await app.register(ingestPlugin, {
    store,
    observer: { regulationCreated: () => void regulationsCreated++ },
    sources: SOURCES,
    limits: { ...testLimits, maxWebhookRequestBytes: WEBHOOK_LIMIT },
    backlogRefreshMs: 0,
    parseThreads: options.parseThreads ?? 0,
    parseThreadMinBytes: 1024
  })
  await app.ready()
  return store
}

const sign = (value: string) => createHmac('sha1', SECRET).update(value).digest('hex')

function track(i: number, user = 'u-1', extra: Record<string, unknown> = {}) {
  return {
    type: 'track', event: `E${i}`, userId: user, messageId: `m-${user}-${i}`,
    timestamp: '2024-05-01T10:00:00.000Z', receivedAt: '2024-05-01T10:00:01.000Z', sentAt: '2024-05-01T09:59:59.000Z',
    context: { library: { name: 'analytics-node' } }, integrations: { All: true }, properties: { i }, ...extra
  }
}

async function post(body: unknown, headers: Record<string, string> = {}, url = '/v1/webhook') {
  const payload = typeof body === 'string' ? body : JSON.stringify(body)
  const res = await app!.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload })
  return { status: res.statusCode, body: res.json() as { success: boolean; error?: string } }
}

describe('POST /v1/webhook', () => {
  it('stores one event sent with the write key by HTTP Basic, as Segment sent it, and answers 200 {"success":true}', async () => {
    const store = await setup()
    const event = track(1)
    expect(await post(event, { authorization: basicAuth('wk-web-0123456') })).toEqual({ status: 200, body: { success: true } })
    expect(store.events).toHaveLength(1)
    expect(store.events[0]).toMatchObject({ source: 'web', messageId: 'm-u-1-1', type: 'track', event })
    expect(store.events[0]!.event).toEqual(event)
  })

  it('takes the write key as ?writeKey= for senders that cannot set headers, on the path with or without a trailing slash', async () => {
    const store = await setup()
    expect((await post(track(1), {}, '/v1/webhook?writeKey=wk-web-0123456')).status).toBe(200)
    expect((await post(track(2), {}, '/v1/webhook/?writeKey=wk-web-0123456')).status).toBe(200)
    expect(store.events.map((e) => [e.source, e.messageId])).toEqual([['web', 'm-u-1-1'], ['web', 'm-u-1-2']])
  })

  it('takes a signed event without a key (classic Webhooks: X-Signature over the body) for the source whose secret verifies it', async () => {
    const store = await setup()
    const body = JSON.stringify(track(1))
    expect((await post(body, { 'x-signature': sign(body) })).status).toBe(200)
    expect(store.events.map((e) => e.source)).toEqual(['segment'])
  })

  it('takes a signed array (Webhooks (Actions) batching: X-Signature over the first event) and stores every event in order', async () => {
    const store = await setup()
    const events = [track(1), track(2, 'u-2'), track(3)]
    expect((await post(events, { 'x-signature': sign(JSON.stringify(events[0])) })).status).toBe(200)
    expect(store.events.map((e) => [e.source, e.messageId])).toEqual(events.map((e) => ['segment', e.messageId]))
    expect(store.enqueueCalls).toEqual([3])
  })

  it('does not store a retried array twice (dedupe on messageId)', async () => {
    const store = await setup()
    const events = [track(1), track(2)]
    const headers = { 'x-signature': sign(JSON.stringify(events[0])) }
    expect((await post(events, headers)).status).toBe(200)
    expect((await post(events, headers)).status).toBe(200)
    expect(store.events.map((e) => e.messageId)).toEqual(['m-u-1-1', 'm-u-1-2'])
  })

  it('refuses with 401 and stores nothing: a wrong key, a wrong secret, no credentials, a key without the signature its source requires', async () => {
    const store = await setup()
    const body = JSON.stringify(track(1))
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ authorization: basicAuth('wk-web-01234567') }, '/v1/webhook', /^write key not recognised/],
      [{}, '/v1/webhook?writeKey=wrong', /^write key not recognised/],
      [{ 'x-signature': createHmac('sha1', 'wrong-secret').update(body).digest('hex') }, '/v1/webhook', /^X-Signature does not verify with any source's sharedSecret/],
      [{}, '/v1/webhook', /^no credentials/],
      [{ authorization: basicAuth('wk-segment-0123456') }, '/v1/webhook', /^this source has a sharedSecret, so requests must be signed/]
    ]
    for (const [headers, url, error] of cases) {
      const res = await post(body, headers, url)
      expect(res.status).toBe(401)
      expect(res.body.error).toMatch(error)
    }
    expect(store.events).toEqual([])
    expect(store.enqueueCalls).toEqual([])
  })

  it('answers 400 naming the array index and problem, and stores nothing of the array', async () => {
    const store = await setup()
    const res = await post([track(1), { ...track(2), event: '' }], { authorization: basicAuth('wk-web-0123456') })
    expect(res).toEqual({ status: 400, body: { success: false, error: 'body[1]: track event has no "event" name' } })
    expect(store.events).toEqual([])
  })

  it('accepts a batch of 1,000 events of 1 KB, over the other routes\' request limit; refuses a body over its own limit with 413', async () => {
    const store = await setup()
    const events = Array.from({ length: 1000 }, (_, i) => track(i, `u-${i % 10}`, { properties: { pad: 'x'.repeat(800) } }))
    const body = JSON.stringify(events)
    expect(body.length).toBeGreaterThan(1000 * 1024)
    expect((await post({ batch: events }, { authorization: basicAuth('wk-web-0123456') }, '/v1/batch')).status).toBe(413)
    expect((await post(body, { authorization: basicAuth('wk-web-0123456') })).status).toBe(200)
    expect(store.events).toHaveLength(1000)

    const over = await post(`[${'{"type":"track"},'.repeat(WEBHOOK_LIMIT / 16)}{}]`, { authorization: basicAuth('wk-web-0123456') })
    expect(over.status).toBe(413)
    expect(over.body.error).toMatch(/^request body is \d+ bytes; the limit is 4194304$/)
  })

  it('makes a user deletion request (type "delete") a DELETE_ONLY regulation (origin "event"), answers 200, stores no event', async () => {
    const store = await setup()
    const deletion = { type: 'delete', userId: 'u-1', messageId: 'del-1', context: {} }
    expect(await post(deletion, { authorization: basicAuth('wk-ops-0123456') })).toEqual({ status: 200, body: { success: true } })
    expect(store.events).toEqual([])
    expect([...store.regulations.values()]).toMatchObject([{ type: 'DELETE_ONLY', subjectIds: ['u-1'], origin: 'event', status: 'RUNNING' }])
    expect(regulationsCreated).toBe(1)
  })

  it('in an array, stores the events and makes one regulation of the deletions, also on a parse thread', async () => {
    for (const parseThreads of [0, 1]) {
      const store = await setup({ parseThreads, opaque: parseThreads > 0 })
      const body = [...Array.from({ length: 30 }, (_, i) => track(i, `u-${i % 3}`)), { type: 'delete', userId: 'u-1' }, { type: 'delete', userId: 'u-gone' }]
      expect((await post(body, { 'x-signature': sign(JSON.stringify(body[0])) })).status, `parse threads ${parseThreads}`).toBe(200)
      expect(store.events.map((e) => e.type)).toEqual(Array(30).fill('track'))
      expect([...store.regulations.values()].map((r) => [r.type, r.subjectIds])).toEqual([['DELETE_ONLY', ['u-1', 'u-gone']]])
      await app!.close()
    }
  })

  it('answers 503 (retry) when the deletion request cannot be stored', async () => {
    const store = await setup()
    store.createRegulation = async () => { throw new Error('disk full') }
    const res = await post({ type: 'delete', userId: 'u-1' }, { authorization: basicAuth('wk-ops-0123456') })
    expect(res).toEqual({ status: 503, body: { success: false, error: 'the user deletion request could not be stored; retry later' } })
    expect(regulationsCreated).toBe(0)
  })

  it('refuses a request with deletions its source may not make (its write key may be public): 403 naming the fix, nothing stored', async () => {
    for (const parseThreads of [0, 1]) {
      const store = await setup({ parseThreads, opaque: parseThreads > 0 })
      // Over parseThreadMinBytes when parsed on a thread, so that path decides too.
      const body = [track(1, 'u-1', { note: 'x'.repeat(parseThreads ? 2048 : 0) }), { type: 'delete', userId: 'u-1' }]
      const answer = await post(body, { authorization: basicAuth('wk-web-0123456') })
      expect(answer.status, `parseThreads ${parseThreads}`).toBe(403)
      expect(answer.body).toEqual({
        success: false,
        error: 'source "web" may not delete users (a "delete" event): set "sharedSecret" on it (Segment then signs its requests, and a signed source accepts deletions) or "acceptDeletions": true in "sources" if only trusted senders hold its write key; or run csb-relay regulate --type DELETE_ONLY'
      })
      expect(store.events).toEqual([])
      expect(store.regulations.size).toBe(0)
      expect(regulationsCreated).toBe(0)
      await app!.close()
      app = undefined
    }
  })

  it('parses a large signed array on a parse thread, with the same events and answers', async () => {
    const store = await setup({ parseThreads: 1, opaque: true })
    const events = Array.from({ length: 40 }, (_, i) => track(i, `u-${i % 4}`))
    expect((await post(events, { 'x-signature': sign(JSON.stringify(events[0])) })).status).toBe(200)
    expect(store.events.map((e) => e.event)).toEqual(events)
    const bad = await post([...events.slice(0, 5), { type: 'track', userId: 'u' }], { authorization: basicAuth('wk-web-0123456') })
    expect(bad).toEqual({ status: 400, body: { success: false, error: 'body[5]: track event has no "event" name' } })
  })

  it('answers other methods with 405, without repeating the URL (a ?writeKey= stays out of answers)', async () => {
    await setup()
    for (const [method, url] of [['GET', '/v1/webhook?writeKey=wk-web-0123456'], ['PUT', '/v1/webhook/?writeKey=wk-web-0123456']] as const) {
      const res = await app!.inject({ method, url })
      expect(res.statusCode).toBe(405)
      expect(res.json()).toEqual({ success: false, error: "/v1/webhook takes POST: set the Method to POST in Segment's Webhooks mapping" })
      expect(res.body).not.toContain('wk-web-0123456')
    }
  })
})
