import { describe, expect, it } from 'vitest'
import { Headers as NodeFetchHeaders } from '@segment/actions-core'
import { redactHeaders } from './capture'
import { completedSubscriptions, samplesOf } from './samples'

describe('redactHeaders', () => {
  it('lower-cases names and replaces credentials, from objects, Headers and pairs', () => {
    expect(redactHeaders({ Authorization: 'Bearer secret', 'Content-Type': 'application/json' })).toEqual({
      authorization: '[redacted]',
      'content-type': 'application/json'
    })
    expect(redactHeaders(new Headers({ authorization: 'Basic abc', 'X-Api-Key': 'k', accept: 'application/json' }))).toEqual({
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      accept: 'application/json'
    })
    expect(redactHeaders([['Proxy-Authorization', 'x']])).toEqual({ 'proxy-authorization': '[redacted]' })
    expect(redactHeaders(undefined)).toEqual({})
  })

  it('reads node-fetch Headers (what actions-core sends with), joining repeated values', () => {
    const headers = new NodeFetchHeaders({ Authorization: 'Bearer secret', 'Content-Type': 'application/json' })
    headers.append('X-Multi', 'a')
    headers.append('X-Multi', 'b')
    expect(redactHeaders(headers)).toEqual({ authorization: '[redacted]', 'content-type': 'application/json', 'x-multi': 'a, b' })
  })

  it('redacts the same when a name comes again, also after more distinct names than it remembers', () => {
    for (let round = 0; round < 2; round++) {
      expect(redactHeaders({ 'X-Api-Key': 'k', 'Content-Type': 'text/plain' })).toEqual({ 'x-api-key': '[redacted]', 'content-type': 'text/plain' })
      for (let i = 0; i < 1500; i++) expect(redactHeaders({ [`X-Custom-${i}`]: 'v' })).toEqual({ [`x-custom-${i}`]: 'v' })
      expect(redactHeaders([['Cookie', 'c']])).toEqual({ cookie: '[redacted]' })
    }
  })

  it('gives node-fetch Headers\' names in the order forEach visits them (sorted as set, then lower-cased)', () => {
    const headers = new NodeFetchHeaders({ 'X-Zeta': 'z', Accept: 'a', 'content-length': '2', Authorization: 'Bearer secret' })
    const visited: string[] = []
    headers.forEach((_value, name) => visited.push(name))
    expect(Object.keys(redactHeaders(headers))).toEqual(visited)
    expect(visited).toEqual(['accept', 'authorization', 'x-zeta', 'content-length'])
  })
})

describe('samples', () => {
  const request = { method: 'POST', url: 'http://x/api/v1_1/user', headers: { authorization: '[redacted]' }, body: { user_id: 'u' } }
  const response = { status: 503, headers: {}, body: { success: false } }

  it('one request: the request and the response as they are', () => {
    const s = samplesOf({ results: [{ subscription: 'a', action: 'identifyUser', exchanges: [{ request, response }] }], failed: null }, ['a'])
    expect(s).toEqual({ request, response })
  })

  it('a network error stands in for the response', () => {
    const failed = { subscription: 'a', action: 'identifyUser', exchanges: [{ request }], error: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }
    const s = samplesOf({ results: [failed], failed }, [])
    expect(s?.response).toEqual({ error: 'Error ECONNREFUSED: refused' })
  })

  it('a failure before any request (missing id) keeps the error as the response', () => {
    const failed = { subscription: 'a', action: 'identifyUser', exchanges: [], error: new Error('account_id is missing') }
    expect(samplesOf({ results: [failed], failed }, [])).toEqual({ response: { error: 'Error: account_id is missing' } })
  })

  it('several subscriptions: arrays, and the ones already delivered are remembered across a retry', () => {
    const ok = { subscription: 'a', action: 'trackPage', exchanges: [{ request, response: { ...response, status: 200 } }] }
    const failed = { subscription: 'b', action: 'trackFeature', exchanges: [{ request, response }], error: new Error('503') }
    const s = samplesOf({ results: [ok, failed], failed }, ['a'])
    expect(Array.isArray(s?.request)).toBe(true)
    expect(completedSubscriptions(s)).toEqual(['a'])
    expect(completedSubscriptions(null)).toEqual([])
  })
})

describe('RelayDestination', () => {
  it('refuses a definition that is not instrumented (its requests could not be captured)', async () => {
    const { default: csbDestination } = await import('../destination')
    const { RelayDestination } = await import('./actions-core')
    expect(() => new RelayDestination(csbDestination)).toThrow(/RelayDestination needs a definition from instrumentDefinition/)
  })
})

describe('extendRequest options (instrumentDefinition)', () => {
  it('keep the destination\'s headers and add the timeout and an uncloned answer, one object while the destination\'s options and the timeout stay the same', async () => {
    const { default: csbDestination } = await import('../destination')
    const { instrumentDefinition } = await import('./actions-core')
    let timeout = 2000
    const extend = instrumentDefinition(csbDestination, { timeoutMs: () => timeout }).extendRequest as (data: unknown) => Record<string, unknown>
    const one = { apiKey: 'key-one', baseUrl: 'http://127.0.0.1:9' }
    const first = extend({ settings: one })
    expect(first).toMatchObject({ timeout: 2000, skipResponseCloning: true, headers: { Authorization: 'Bearer key-one', 'Content-Type': 'application/json' } })
    // Equal settings in another object (as each task in a worker thread gets): the same options object.
    expect(extend({ settings: { ...one } })).toBe(first)
    const other = extend({ settings: { ...one, apiKey: 'key-two' } })
    expect(other).not.toBe(first)
    expect(other.headers).toMatchObject({ Authorization: 'Bearer key-two' })
    timeout = 3000
    const later = extend({ settings: { ...one, apiKey: 'key-two' } })
    expect(later.timeout).toBe(3000)
    expect(later).not.toBe(other)
  })
})

describe('JSON bodies (capture)', () => {
  it('sends the same request as actions-core does on its own for `json`, with or without a JSON content type among the defaults', async () => {
    const http = await import('node:http')
    const { default: csbDestination } = await import('../destination')
    const { runSubscriptions } = await import('./attempt')
    const { instrumentDefinition, RelayDestination } = await import('./actions-core')
    const { compileSubscriptions, defaultSubscriptions } = await import('./subscriptions')
    // What arrives on the wire: method, path, headers, the body's bytes.
    const seen: Array<{ method?: string; url?: string; headers: Record<string, unknown>; body: string }> = []
    const server = http.createServer((req, res) => {
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (chunk: string) => (body += chunk))
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body })
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as import('node:net').AddressInfo
      const baseUrl = `http://127.0.0.1:${port}`
      const settings = { apiKey: 'wire-key', baseUrl }
      const event = { type: 'identify', userId: 'u1', traits: { account_id: 'acc-1', name: 'Zoë "Q"', plan: 'pro' }, messageId: 'm1' }
      const [sub] = compileSubscriptions(defaultSubscriptions(csbDestination), csbDestination).filter((s) => s.partnerAction === 'identifyUser')
      // The request options as actions-core's client holds them (a beforeRequest hook of the destination's own).
      const options: Array<Record<string, unknown>> = []
      const watched = {
        ...csbDestination,
        extendRequest: (data: never) => ({ ...csbDestination.extendRequest?.(data), beforeRequest: [(o: Record<string, unknown>) => void options.push(o)] })
      } as unknown as typeof csbDestination
      // actions-core on its own, as Segment runs a destination (onEvent, the definition not instrumented).
      const { Destination } = await import('@segment/actions-core')
      const subscription = { subscribe: sub.subscribe, partnerAction: sub.partnerAction, mapping: sub.mapping }
      await new Destination(watched).onEvent(event as never, { ...settings, subscription } as never)
      // Through the relay's capture: `json` goes on to actions-core as it is.
      const run = await runSubscriptions(new RelayDestination(instrumentDefinition(watched, { timeoutMs: () => 2000 })), event, settings, [sub])
      expect(typeof options[0].json).toBe('object')
      expect(options[1].json).toEqual(options[0].json)
      expect(run.failed).toBeNull()
      expect(seen).toHaveLength(2)
      const [plain, relayed] = seen
      expect(relayed.body).toBe(plain.body)
      expect(relayed.method).toBe(plain.method)
      expect(relayed.url).toBe(plain.url)
      expect(relayed.headers).toEqual(plain.headers)
      expect(relayed.headers['content-type']).toBe('application/json')
      expect(run.results[0].exchanges[0].request.body).toEqual(JSON.parse(plain.body))
      // actions-core reads the response body once (no clone of the response); the answer still arrives.
      expect(options[0].skipResponseCloning).toBeUndefined()
      expect(options[1].skipResponseCloning).toBe(true)
      expect(run.results[0].exchanges[0].response?.body).toEqual({ success: true })

      // CSB's definition as it is (defaults say JSON, no hooks of its own): the seam hands actions-core
      // the body it would make of `json`; the wire is the same, raw header order included.
      const raw: string[][] = []
      server.on('request', (req: import('node:http').IncomingMessage) => raw.push(req.rawHeaders))
      await new Destination(csbDestination).onEvent(event as never, { ...settings, subscription } as never)
      const direct = await runSubscriptions(new RelayDestination(instrumentDefinition(csbDestination, { timeoutMs: () => 2000 })), event, settings, [sub])
      expect(direct.failed).toBeNull()
      const [plainCsb, relayedCsb] = seen.slice(2, 4)
      expect(relayedCsb.body).toBe(plainCsb.body)
      expect(relayedCsb.headers).toEqual(plainCsb.headers)
      expect(raw[1]).toEqual(raw[0])
      expect(direct.results[0].exchanges[0].request.body).toEqual(JSON.parse(plainCsb.body))
      expect(direct.results[0].exchanges[0].request.headers['content-type']).toBe('application/json')

      // A destination whose defaults name no content type: `json` goes to actions-core as it is.
      const bare = {
        name: 'Bare',
        mode: 'cloud' as const,
        authentication: { scheme: 'custom' as const, fields: {} },
        extendRequest: () => ({ headers: { Accept: 'text/plain' } }),
        actions: {
          send: {
            title: 'Send',
            description: 'Sends a fixed body.',
            fields: {},
            perform: (request: (url: string, options: Record<string, unknown>) => Promise<unknown>) =>
              request(`${baseUrl}/bare`, { method: 'POST', json: { a: 1, b: [true, null] } })
          }
        }
      }
      await new Destination(bare as never).onEvent({ type: 'x' } as never, { subscription: { subscribe: 'type = "x"', partnerAction: 'send', mapping: {} } } as never)
      await runSubscriptions(new RelayDestination(instrumentDefinition(bare as never, { timeoutMs: () => 2000 })), { type: 'x' }, {} as never, [
        { name: 'send', subscribe: 'type = "x"', partnerAction: 'send', mapping: {} } as never
      ])
      const [bare1, bare2] = seen.slice(4)
      expect(bare2.body).toBe('{"a":1,"b":[true,null]}')
      expect(bare2.body).toBe(bare1.body)
      expect(bare2.headers).toEqual(bare1.headers)
      expect(bare2.headers['content-type']).toBe('application/json')
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
