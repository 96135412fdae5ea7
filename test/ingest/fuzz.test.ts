/**
 * Fuzz: thousands of malformed and hostile requests mixed with good ones, sent to a relay
 * process, on the tracking API and on /v1/webhook (Segment's Webhooks destinations). The process
 * never dies, every bad request gets a 4xx whose body names its problem, and every good event is
 * stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { createHmac } from 'node:crypto'
import http from 'node:http'
import zlib from 'node:zlib'
import { openStore } from '../../src/store'
import { startRelayProcess, type RelayProcess } from '../helpers/processes'
import { basicAuth } from '../helpers/http'
import { TEST_WRITE_KEY } from '../helpers/relay'
import { allMessageIds } from '../helpers/message-ids'
import { removeTempDirs } from '../helpers/temp'

const LIMITS = { maxEventBytes: 4096, maxRequestBytes: 65_536, maxWebhookRequestBytes: 131_072, maxBatchEvents: 50 }
/** A source for /v1/webhook that signs (`sharedSecret`), beside TEST_WRITE_KEY's. */
const SIGNED = { name: 'segment', writeKey: 'wk_fuzz_signed_source', sharedSecret: 'fuzz-shared-secret-42' }

interface FuzzRequest {
  kind: string
  path: string
  headers: Record<string, string>
  body: Buffer
  /** Good requests: the messageIds that must be stored. */
  good?: string[]
  /** Bad requests: the status and what the error must say. */
  status?: number
  error?: RegExp
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value))
const auth = { authorization: basicAuth(TEST_WRITE_KEY), 'content-type': 'application/json' }
/** Headers of a request signed as Segment signs: hex HMAC-SHA1 of `signedText` with the source's secret. */
const signed = (signedText: string, secret = SIGNED.sharedSecret) =>
  ({ 'content-type': 'application/json', 'x-signature': createHmac('sha1', secret).update(signedText).digest('hex') })

// ---- good events ----------------------------------------------------------------------------

const id = fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.integer().map(String))
const safeKey = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__' && k !== 'constructor')
const bag = fc.dictionary(safeKey, fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 6 })

const goodEvent = fc.record({
  messageId: fc.uuid(),
  userId: id,
  kind: fc.constantFrom('identify', 'track', 'page', 'screen', 'group', 'alias'),
  name: fc.string({ minLength: 1, maxLength: 30 }),
  bag,
  timestamp: fc.option(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()), { nil: undefined })
}).map(({ messageId, userId, kind, name, bag, timestamp }) => {
  const event: Record<string, unknown> = { type: kind, messageId, userId, timestamp }
  if (kind === 'track') Object.assign(event, { event: name, properties: bag })
  else if (kind === 'group') Object.assign(event, { groupId: name, traits: bag })
  else if (kind === 'alias') Object.assign(event, { previousId: name })
  else if (kind === 'identify') Object.assign(event, { traits: bag })
  else Object.assign(event, { name, properties: bag })
  return event
})

const shortPath: Record<string, string> = { identify: 'i', track: 't', page: 'p', screen: 's', group: 'g', alias: 'a' }

const goodRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  goodEvent.map((e) => ({ kind: 'good single', path: `/v1/${e.type}`, headers: auth, body: json(e), good: [e.messageId as string] })),
  goodEvent.map((e) => ({
    kind: 'good browser', path: `/v1/${shortPath[e.type as string]}`, headers: { 'content-type': 'text/plain' },
    body: json({ ...e, writeKey: TEST_WRITE_KEY }), good: [e.messageId as string]
  })),
  fc.tuple(fc.array(goodEvent, { minLength: 1, maxLength: 20 }), fc.boolean()).map(([batch, gzipped]) => ({
    kind: 'good batch', path: '/v1/batch',
    headers: gzipped ? { ...auth, 'content-encoding': 'gzip' } : auth,
    body: gzipped ? zlib.gzipSync(json({ batch })) : json({ batch }),
    good: batch.map((e) => e.messageId as string)
  })),
  goodEvent.map((e) => ({ kind: 'good webhook, Basic', path: '/v1/webhook', headers: auth, body: json(e), good: [e.messageId as string] })),
  goodEvent.map((e) => ({
    kind: 'good webhook, ?writeKey=', path: `/v1/webhook?writeKey=${TEST_WRITE_KEY}`, headers: { 'content-type': 'application/json' },
    body: json(e), good: [e.messageId as string]
  })),
  goodEvent.map((e) => ({ kind: 'good webhook, signed', path: '/v1/webhook', headers: signed(JSON.stringify(e)), body: json(e), good: [e.messageId as string] })),
  fc.tuple(fc.array(goodEvent, { minLength: 1, maxLength: 20 }), fc.boolean()).map(([batch, gzipped]) => ({
    kind: 'good webhook array, signed', path: '/v1/webhook',
    headers: gzipped ? { ...signed(JSON.stringify(batch[0])), 'content-encoding': 'gzip' } : signed(JSON.stringify(batch[0])),
    body: gzipped ? zlib.gzipSync(json(batch)) : json(batch),
    good: batch.map((e) => e.messageId as string)
  }))
)

// ---- bad requests -----------------------------------------------------------------------------

const bad = (kind: string, status: number, error: RegExp, path: string, headers: Record<string, string>, body: Buffer): FuzzRequest =>
  ({ kind, path, headers, body, status, error })

/** 5 MB of spaces: about 5 KB gzipped. */
const GZIP_BOMB = zlib.gzipSync(Buffer.alloc(5_000_000, 0x20))

function nested(depth: number): unknown {
  let value: unknown = 'bottom'
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { n: value }
  return value
}

const badRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  fc.string().map((s) => bad('invalid JSON', 400, /^invalid JSON: /, '/v1/track', auth, Buffer.from(`{,${s}`))),
  fc.oneof(fc.integer(), fc.string(), fc.array(fc.integer()), fc.constant(null), fc.boolean()).map((v) =>
    bad('not an object', 400, /^body must be a JSON object$/, '/v1/identify', auth, json(v))),
  goodEvent.chain((e) =>
    fc.oneof(fc.constant({}), fc.constant([]), fc.boolean(), fc.constant(null)).map((v) =>
      bad('no user', 400, /event has neither "userId" nor "anonymousId"$/, `/v1/${e.type}`, auth, json({ ...e, type: undefined, userId: v })))),
  goodEvent.map((e) => bad('track without event', 400, /^track event has no "event" name$/, '/v1/track', auth, json({ ...e, type: 'track', event: undefined }))),
  goodEvent.map((e) => bad('group without groupId', 400, /^group event has no "groupId"$/, '/v1/group', auth, json({ ...e, type: 'group', groupId: undefined }))),
  fc.tuple(fc.array(goodEvent, { maxLength: 5 }), fc.string({ minLength: 1 }).filter((t) => !['identify', 'track', 'page', 'screen', 'group', 'alias'].includes(t))).map(([events, type]) =>
    bad('unknown type in batch', 400, new RegExp(`^batch\\[${events.length}\\]: unknown type `), '/v1/batch', auth, json({ batch: [...events, { type, userId: 'u' }] }))),
  goodEvent.map((e) => bad('traits not an object', 400, /"traits" must be an object/, '/v1/identify', auth, json({ ...e, type: 'identify', traits: 'x' }))),
  fc.integer({ min: 5000, max: 60_000 }).map((n) =>
    bad('huge string', 413, /^event is \d+ bytes; the limit is 4096$/, '/v1/track', auth, json({ userId: 'u', event: 'E', properties: { s: 'x'.repeat(n) } }))),
  fc.integer({ min: 70_000, max: 200_000 }).map((n) =>
    bad('huge request', 413, /^request body is \d+ bytes; the limit is 65536$/, '/v1/batch', auth, json({ batch: [{ type: 'track', userId: 'u', event: 'x'.repeat(n) }] }))),
  fc.integer({ min: 65, max: 300 }).map((depth) =>
    bad('deep nesting', 400, /nested deeper than 64 levels/, '/v1/identify', auth, json({ userId: 'u', traits: { deep: nested(depth) } }))),
  fc.tuple(goodEvent, fc.constantFrom('traits', 'properties', 'context')).map(([e, where]) =>
    bad('__proto__ key', 400, /key "__proto__" is not accepted/, '/v1/batch', auth,
      Buffer.from(`{"batch":[${JSON.stringify({ ...e, type: 'identify' }).slice(0, -1)},"${where}":{"__proto__":{"polluted":true}}}]}`))),
  goodEvent.map((e) => bad('constructor.prototype', 400, /constructor\.prototype/, '/v1/track', auth,
    json({ ...e, type: 'track', event: 'E', properties: { constructor: { prototype: { polluted: true } } } }))),
  fc.uint8Array({ minLength: 1, maxLength: 200 }).filter((b) => b[0] !== 0x1f).map((bytes) =>
    bad('bad gzip', 400, /^body is not valid gzip/, '/v1/batch', { ...auth, 'content-encoding': 'gzip' }, Buffer.from(bytes))),
  fc.constant(bad('gzip bomb', 413, /^request body is over 65536 bytes after gunzip$/, '/v1/batch', { ...auth, 'content-encoding': 'gzip' }, GZIP_BOMB)),
  fc.constantFrom('multipart/form-data; boundary=z', 'image/png', 'video/mp4').map((type) =>
    bad('wrong content type', 415, /^Content-Type ".*" is not accepted/, '/v1/track', { authorization: basicAuth(TEST_WRITE_KEY), 'content-type': type }, json({ userId: 'u', event: 'E' }))),
  fc.constantFrom('br', 'deflate', 'compress').map((encoding) =>
    bad('unsupported encoding', 415, /^Content-Encoding ".*" is not supported/, '/v1/track', { ...auth, 'content-encoding': encoding }, json({ userId: 'u', event: 'E' }))),
  fc.string({ minLength: 1, maxLength: 40 }).filter((k) => k !== TEST_WRITE_KEY && !k.includes(':')).map((key) =>
    bad('wrong write key', 401, /^write key not recognised/, '/v1/track', { authorization: basicAuth(key), 'content-type': 'application/json' }, json({ userId: 'u', event: 'E' }))),
  goodEvent.map((e) => bad('no write key', 401, /^write key missing/, '/v1/t', { 'content-type': 'text/plain' }, json({ ...e, type: 'track', event: 'E' }))),
  fc.integer({ min: 51, max: 200 }).map((n) =>
    bad('too many events', 400, new RegExp(`^batch has ${n} events; at most 50`), '/v1/batch', auth, json({ batch: Array.from({ length: n }, () => ({ type: 'identify', userId: 'u' })) }))),
  fc.string({ minLength: 1, maxLength: 20 }).filter((p) => /^[a-z]+$/.test(p) && !['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch', 'import', 'i', 't', 'p', 's', 'g', 'a', 'b', 'webhook'].includes(p)).map((p) =>
    bad('unknown endpoint', 404, /^unknown endpoint/, `/v1/${p}`, auth, json({ userId: 'u' }))),
  ...badWebhookRequests()
)

/** Hostile requests to /v1/webhook. */
function badWebhookRequests(): Array<fc.Arbitrary<FuzzRequest>> {
  const hook = '/v1/webhook'
  return [
    fc.tuple(goodEvent, fc.string({ minLength: 1, maxLength: 30 })).map(([e, secret]) =>
      bad('webhook, wrong secret', 401, /^X-Signature does not verify with any source's sharedSecret/, hook, signed(JSON.stringify(e), `${SIGNED.sharedSecret}${secret}`), json(e))),
    fc.string({ minLength: 1, maxLength: 60 }).filter((s) => !/^\s*[0-9a-f]{40}\s*$/i.test(s) && /^[\x21-\x7e]+$/.test(s)).map((sig) =>
      bad('webhook, malformed signature', 401, /^X-Signature must be 40 hex digits/, hook, { 'content-type': 'application/json', 'x-signature': sig }, json({ type: 'track', userId: 'u', event: 'E' }))),
    fc.string({ minLength: 1, maxLength: 40 }).filter((k) => k !== TEST_WRITE_KEY && k !== SIGNED.writeKey).map((key) =>
      bad('webhook, wrong ?writeKey=', 401, /^write key not recognised/, `${hook}?writeKey=${encodeURIComponent(key)}`, { 'content-type': 'application/json' }, json({ type: 'track', userId: 'u', event: 'E' }))),
    goodEvent.map((e) =>
      bad('webhook, signing source without signature', 401, /^this source has a sharedSecret/, hook, { authorization: basicAuth(SIGNED.writeKey), 'content-type': 'application/json' }, json(e))),
    goodEvent.map((e) => bad('webhook, no credentials', 401, /^no credentials/, hook, { 'content-type': 'application/json' }, json(e))),
    fc.tuple(fc.array(goodEvent, { minLength: 1, maxLength: 5 }), fc.string({ minLength: 1 }).filter((t) => !['identify', 'track', 'page', 'screen', 'group', 'alias', 'delete'].includes(t))).map(([events, type]) => {
      const body = [...events, { type, userId: 'u' }]
      return bad('webhook, unknown type in array', 400, new RegExp(`^body\\[${events.length}\\]: unknown type `), hook, signed(JSON.stringify(body[0])), json(body))
    }),
    fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.boolean()).map((v) =>
      bad('webhook, not an event', 400, /^body must be a Segment event \(a JSON object\) or a JSON array of events$/, hook, auth, json(v))),
    fc.string().map((s) => bad('webhook, invalid JSON', 400, /^invalid JSON: /, hook, auth, Buffer.from(`[{,${s}`))),
    fc.string().map((s) => bad('webhook, truncated signed array', 401, /^X-Signature does not verify/, hook, signed('{"a":1}'), Buffer.from(`[{"a":${JSON.stringify(s)}`))),
    fc.integer({ min: 140_000, max: 300_000 }).map((n) =>
      bad('webhook, huge request', 413, /^request body is \d+ bytes; the limit is 131072$/, hook, auth, json([{ type: 'track', userId: 'u', event: 'x'.repeat(n) }]))),
    fc.integer({ min: 5000, max: 60_000 }).map((n) =>
      bad('webhook, huge event in array', 413, /^body\[1\]: event is \d+ bytes; the limit is 4096$/, hook, auth,
        json([{ type: 'track', userId: 'u', event: 'E' }, { type: 'track', userId: 'u', event: 'E', properties: { s: 'x'.repeat(n) } }]))),
    fc.integer({ min: 65, max: 300 }).map((depth) =>
      bad('webhook, deep nesting', 400, /nested deeper than 64 levels/, hook, auth, json({ type: 'identify', userId: 'u', traits: { deep: nested(depth) } })))
  ]
}

// ---- the run ----------------------------------------------------------------------------------

function send(url: string, request: FuzzRequest, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(request.path, url)
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: 'POST', agent,
        headers: { ...request.headers, 'content-length': request.body.length } },
      (res) => {
        let text = ''
        res.on('data', (c: Buffer) => (text += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      }
    )
    req.on('error', reject)
    req.end(request.body)
  })
}

let relay: RelayProcess
let db: string
beforeAll(async () => {
  relay = await startRelayProcess({ config: { ingest: LIMITS, sources: [SIGNED] }, env: { CSB_RELAY_WRITE_KEYS: TEST_WRITE_KEY } })
  db = relay.db
})
afterAll(async () => {
  await relay?.stop('SIGKILL')
  removeTempDirs()
})

describe('fuzzing the tracking API and /v1/webhook', () => {
  it('answers every hostile request with a 4xx naming its problem and stores every good event', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
    const goodIds: string[] = []
    const kinds = new Map<string, number>()
    let requests = 0

    const details = await fc.check(
      fc.asyncProperty(fc.array(fc.oneof({ arbitrary: goodRequest, weight: 1 }, { arbitrary: badRequest, weight: 3 }), { minLength: 10, maxLength: 40 }), async (batch) => {
        const answers = await Promise.all(batch.map((r) => send(relay.url, r, agent)))
        batch.forEach((request, i) => {
          requests++
          kinds.set(request.kind, (kinds.get(request.kind) ?? 0) + 1)
          const answer = answers[i]!
          const parsed = JSON.parse(answer.body) as { success: boolean; error?: string }
          if (request.good) {
            expect(answer, request.kind).toEqual({ status: 200, body: '{"success":true}' })
            goodIds.push(...request.good)
          } else {
            expect({ kind: request.kind, status: answer.status }).toEqual({ kind: request.kind, status: request.status })
            expect(parsed.success).toBe(false)
            expect(parsed.error, request.kind).toMatch(request.error!)
          }
        })
      }),
      { numRuns: 120, seed: 20240501, endOnFailure: true }
    )
    // fc.check, not fc.assert: a counterexample holds megabytes of bodies; the error is enough.
    expect(details.failed ? String(details.errorInstance).slice(0, 3000) : null).toBeNull()
    agent.destroy()

    expect(requests).toBeGreaterThan(2000)
    expect(kinds.size).toBeGreaterThanOrEqual(30)
    expect([...kinds.keys()].filter((k) => k.includes('webhook')).length).toBeGreaterThanOrEqual(14)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()

    // Still alive and answering, then closes cleanly.
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200)
    expect(await relay.stop('SIGTERM')).toEqual({ code: 0, signal: null })

    const store = await openStore(db)
    try {
      const stored = await allMessageIds(store)
      expect(goodIds.filter((id) => !stored.has(id))).toEqual([])
    } finally {
      await store.close()
    }
  }, 300_000)
})
