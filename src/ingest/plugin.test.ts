import { afterEach, describe, expect, it } from 'vitest'
import zlib from 'node:zlib'
import type { FastifyInstance } from 'fastify'
import { basicAuth } from '../../test/helpers/http'
import { SOURCE, WRITE_KEY, gzip, ingestApp } from '../../test/helpers/ingest-app'
import type { IngestResult } from './observer'

let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

async function setup(options: Parameters<typeof ingestApp>[0] = {}) {
  const made = await ingestApp(options)
  app = made.app
  return made
}

const json = { 'content-type': 'application/json', authorization: basicAuth(WRITE_KEY) }

describe('accepting events', () => {
  it('stores a track event sent as JSON with HTTP Basic, and answers 200 {"success":true}', async () => {
    const { app, store } = await setup()
    const res = await app.inject({ method: 'POST', url: '/v1/track', headers: json, payload: { userId: 'u1', event: 'Signed Up' } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ success: true })
    expect(store.events).toHaveLength(1)
    expect(store.events[0]).toMatchObject({ source: SOURCE, type: 'track', orderingKey: 'u1', event: { userId: 'u1', event: 'Signed Up', type: 'track' } })
  })

  it('accepts text/plain JSON with the write key in the body (the browser library), on the short paths', async () => {
    const { app, store } = await setup()
    for (const [path, body] of [
      ['/v1/i', { userId: 'u', traits: { name: 'Ann' } }],
      ['/v1/t', { userId: 'u', event: 'E' }],
      ['/v1/p', { anonymousId: 'a', name: 'Home' }],
      ['/v1/s', { anonymousId: 'a', name: 'Main' }],
      ['/v1/g', { userId: 'u', groupId: 'acme' }],
      ['/v1/a', { userId: 'u', previousId: 'a' }]
    ] as const) {
      const res = await app.inject({
        method: 'POST', url: path, headers: { 'content-type': 'text/plain' }, payload: JSON.stringify({ ...body, writeKey: WRITE_KEY })
      })
      expect(res.statusCode, `${path}: ${res.body}`).toBe(200)
    }
    expect(store.events.map((e) => e.type)).toEqual(['identify', 'track', 'page', 'screen', 'group', 'alias'])
    expect(JSON.stringify(store.events)).not.toContain(WRITE_KEY)
  })

  it('accepts a gzip batch (RudderStack node SDK style) in one enqueue call', async () => {
    const { app, store } = await setup()
    const batch = Array.from({ length: 50 }, (_, i) => ({ type: 'track', userId: `u${i % 3}`, event: 'E', messageId: `m${i}` }))
    const res = await app.inject({
      method: 'POST', url: '/v1/batch', headers: { ...json, 'content-encoding': 'gzip' }, payload: gzip({ batch })
    })
    expect(res.statusCode).toBe(200)
    expect(store.events.map((e) => e.messageId)).toEqual(batch.map((e) => e.messageId))
    expect(store.enqueueCalls).toEqual([50])
  })

  it('accepts /v1/import as a batch, and a JSON body without Content-Type', async () => {
    const { app, store } = await setup()
    const res = await app.inject({
      method: 'POST', url: '/v1/import', headers: { authorization: basicAuth(WRITE_KEY) }, payload: JSON.stringify({ batch: [{ type: 'identify', userId: 'u' }] })
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(store.events).toHaveLength(1)
  })

  it('answers 200 for an empty batch without touching the store', async () => {
    const { app, store } = await setup()
    const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: json, payload: { batch: [] } })
    expect(res.statusCode).toBe(200)
    expect(store.enqueueCalls).toEqual([])
  })

  it('reports accepted and duplicate events to the observer', async () => {
    const seen: Array<[string, IngestResult, number]> = []
    const { app } = await setup({ observer: { ingested: (type, result, count) => seen.push([type, result, count]) } })
    const payload = { batch: [{ type: 'track', userId: 'u', event: 'E', messageId: 'same' }, { type: 'identify', userId: 'u', messageId: 'same' }] }
    await app.inject({ method: 'POST', url: '/v1/batch', headers: json, payload })
    await app.inject({ method: 'POST', url: '/v1/track', headers: json, payload: { userId: 'u' } })
    expect(seen).toEqual([
      ['track', 'accepted', 1],
      ['identify', 'duplicate', 1],
      ['track', 'rejected', 1]
    ])
  })
})

describe('write keys', () => {
  it('refuses a request without a write key with 401 saying how to send one', async () => {
    const { app, store } = await setup()
    const res = await app.inject({ method: 'POST', url: '/v1/track', headers: { 'content-type': 'application/json' }, payload: { userId: 'u', event: 'E' } })
    expect(res.statusCode).toBe(401)
    expect(res.json().error).toBe(
      'write key missing: send the write key as HTTP Basic auth (username = write key, empty password) or as "writeKey" in the JSON body'
    )
    expect(store.events).toHaveLength(0)
  })

  it('refuses an unknown write key, in the header or in the body', async () => {
    const { app } = await setup()
    const header = await app.inject({ method: 'POST', url: '/v1/track', headers: { ...json, authorization: basicAuth('nope') }, payload: { userId: 'u', event: 'E' } })
    expect(header.statusCode).toBe(401)
    expect(header.json().error).toMatch(/^write key not recognised/)
    const body = await app.inject({ method: 'POST', url: '/v1/t', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify({ writeKey: `${WRITE_KEY}x`, userId: 'u', event: 'E' }) })
    expect(body.statusCode).toBe(401)
  })
})

describe('limits', () => {
  it('refuses a request body over maxRequestBytes with 413', async () => {
    const { app } = await setup({ limits: { maxRequestBytes: 1000 } })
    const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: json, payload: { batch: [{ type: 'track', userId: 'u', event: 'x'.repeat(2000) }] } })
    expect(res.statusCode).toBe(413)
    expect(res.json()).toEqual({ success: false, error: expect.stringMatching(/^request body is \d+ bytes; the limit is 1000$/) })
  })

  it('refuses a gzip body that inflates over maxRequestBytes (gzip bomb) with 413', async () => {
    const { app, store } = await setup({ limits: { maxRequestBytes: 100_000 } })
    const bomb = zlib.gzipSync(Buffer.alloc(50_000_000, 0x20))
    expect(bomb.length).toBeLessThan(100_000)
    const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: { ...json, 'content-encoding': 'gzip' }, payload: bomb })
    expect(res.statusCode).toBe(413)
    expect(res.json().error).toBe('request body is over 100000 bytes after gunzip')
    expect(store.enqueueCalls).toEqual([])
  })

  it('refuses a batch over maxBatchEvents with 400', async () => {
    const { app } = await setup({ limits: { maxBatchEvents: 3 } })
    const batch = Array.from({ length: 4 }, () => ({ type: 'identify', userId: 'u' }))
    const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: json, payload: { batch } })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toBe('batch has 4 events; at most 3 are accepted per request')
  })

  it('refuses an event over maxEventBytes with 413, in a single request and in a batch', async () => {
    const { app, store } = await setup({ limits: { maxEventBytes: 500 } })
    const big = { userId: 'u', event: 'E', properties: { text: 'y'.repeat(600) } }
    const single = await app.inject({ method: 'POST', url: '/v1/track', headers: json, payload: big })
    expect(single.statusCode).toBe(413)
    const batch = await app.inject({ method: 'POST', url: '/v1/batch', headers: json, payload: { batch: [{ type: 'track', ...big }] } })
    expect(batch.statusCode).toBe(413)
    expect(batch.json().error).toMatch(/^batch\[0\]: event is \d+ bytes; the limit is 500$/)
    expect(store.events).toHaveLength(0)
  })
})

describe('malformed requests', () => {
  it.each([
    ['invalid JSON', 'application/json', undefined, '{"userId": ', 400, /^invalid JSON: /],
    ['an empty body', 'application/json', undefined, '', 400, /^empty body/],
    ['a form body', 'application/x-www-form-urlencoded', undefined, 'a=b', 400, /^invalid JSON: /],
    ['a multipart body', 'multipart/form-data; boundary=x', undefined, '--x--', 415, /^Content-Type "multipart\/form-data; boundary=x" is not accepted/],
    ['bad gzip', 'application/json', 'gzip', 'not gzip at all', 400, /^body is not valid gzip/],
    ['brotli', 'application/json', 'br', '{}', 415, /^Content-Encoding "br" is not supported/]
  ])('answers %s with a 4xx naming the problem', async (_name, type, encoding, payload, status, message) => {
    const { app } = await setup()
    const headers: Record<string, string> = { 'content-type': type, authorization: basicAuth(WRITE_KEY) }
    if (encoding) headers['content-encoding'] = encoding
    const res = await app.inject({ method: 'POST', url: '/v1/track', headers, payload })
    expect(res.statusCode).toBe(status)
    expect(res.json().success).toBe(false)
    expect(res.json().error).toMatch(message)
  })

  it('answers 404 naming the endpoints for an unknown path under /v1/', async () => {
    const { app } = await setup()
    const res = await app.inject({ method: 'POST', url: '/v1/constructor', headers: json, payload: {} })
    expect(res.statusCode).toBe(404)
    expect(res.json().error).toMatch(/^unknown endpoint \/v1\/constructor; use one of \/v1\/identify, /)
  })

  it('answers 503 with Retry-After when the store cannot commit, so the sender retries', async () => {
    const { app, store } = await setup()
    store.failEnqueue = new Error('disk full')
    const res = await app.inject({ method: 'POST', url: '/v1/track', headers: json, payload: { userId: 'u', event: 'E' } })
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.json().error).toBe('events could not be stored; retry later')
  })
})

describe('backpressure', () => {
  it('answers 429 with Retry-After while the backlog is over maxBacklog, and accepts again below it', async () => {
    const { app, store } = await setup({ limits: { maxBacklog: 10 } })
    store.backlog = 11
    const res = await app.inject({ method: 'POST', url: '/v1/track', headers: json, payload: { userId: 'u', event: 'E' } })
    expect(res.statusCode).toBe(429)
    expect(res.headers['retry-after']).toBe('7')
    expect(res.json().error).toBe('backlog is over 10 unfinished events; retry after 7 s')
    expect(store.events).toHaveLength(0)
    store.backlog = 10
    const again = await app.inject({ method: 'POST', url: '/v1/track', headers: json, payload: { userId: 'u', event: 'E' } })
    expect(again.statusCode).toBe(200)
  })

  it('asks the store for counts at most once per refresh interval', async () => {
    const { app, store } = await setup({ backlogRefreshMs: 60_000 })
    for (let i = 0; i < 20; i++) {
      await app.inject({ method: 'POST', url: '/v1/track', headers: json, payload: { userId: 'u', event: 'E' } })
    }
    expect(store.countsCalls).toBe(1)
  })

  it('counts events accepted since the last refresh against the bound', async () => {
    const { app, store } = await setup({ backlogRefreshMs: 60_000, limits: { maxBacklog: 3 } })
    store.backlog = 0
    const batch = Array.from({ length: 4 }, () => ({ type: 'identify', userId: 'u' }))
    expect((await app.inject({ method: 'POST', url: '/v1/batch', headers: json, payload: { batch } })).statusCode).toBe(200)
    expect((await app.inject({ method: 'POST', url: '/v1/identify', headers: json, payload: { userId: 'u' } })).statusCode).toBe(429)
  })
})

describe('browsers', () => {
  it('answers a CORS preflight for any /v1 path, echoing the origin and requested headers', async () => {
    const { app } = await setup()
    const res = await app.inject({
      method: 'OPTIONS', url: '/v1/t',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' }
    })
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('https://shop.example')
    expect(res.headers['access-control-allow-methods']).toContain('POST')
    expect(res.headers['access-control-allow-headers']).toBe('content-type,authorization')
    expect(res.headers.vary).toBe('Origin')
  })

  it('allows Content-Type and Authorization when the preflight does not list headers', async () => {
    const { app } = await setup()
    const res = await app.inject({ method: 'OPTIONS', url: '/v1/batch', headers: { origin: 'https://a.example' } })
    expect(res.headers['access-control-allow-headers']).toMatch(/Content-Type, Authorization/)
  })

  it('puts CORS headers on answers too, errors included', async () => {
    const { app } = await setup()
    const ok = await app.inject({ method: 'POST', url: '/v1/track', headers: { ...json, origin: 'https://a.example' }, payload: { userId: 'u', event: 'E' } })
    expect(ok.headers['access-control-allow-origin']).toBe('https://a.example')
    const bad = await app.inject({ method: 'POST', url: '/v1/track', headers: { 'content-type': 'text/plain' }, payload: '{}' })
    expect(bad.statusCode).toBe(401)
    expect(bad.headers['access-control-allow-origin']).toBe('*')
  })

  it('serves settings that point analytics.js at this relay', async () => {
    const { app } = await setup()
    const res = await app.inject({ method: 'GET', url: `/v1/projects/${WRITE_KEY}/settings`, headers: { host: 'relay.local:8080' } })
    expect(res.statusCode).toBe(200)
    const settings = res.json()
    expect(settings.integrations['Segment.io']).toMatchObject({ apiKey: WRITE_KEY, apiHost: 'relay.local:8080/v1', protocol: 'http' })
    expect(Object.keys(settings.integrations)).toEqual(['Segment.io'])
    expect(settings.metrics).toEqual({ sampleRate: 0 })
    expect(res.headers['access-control-allow-origin']).toBe('*')
  })

  it('answers 404 for the settings of an unknown write key', async () => {
    const { app } = await setup()
    const res = await app.inject({ method: 'GET', url: '/v1/projects/unknown/settings' })
    expect(res.statusCode).toBe(404)
    expect(res.json().error).toBe('no source has this write key')
  })
})
