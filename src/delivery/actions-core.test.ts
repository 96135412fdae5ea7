/**
 * The contract between the relay and @segment/actions-core: one test per assumption that
 * actions-core.ts makes about how actions-core works inside, named as the assumption and run
 * against the installed version. After an upgrade, a failure here names the assumption broken;
 * actions-core.ts says where it is relied on.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { describe, expect } from 'vitest'
import { Destination, RetryableError, transform } from '@segment/actions-core'
import { assumption, base, definition, expectNoAnswer, last, Open, open, replaceClients, seen, settings, useStandIn, VERSION, type Hook, type Probe } from './actions-core.test-fixture'
import { matchesFql, NO_ANSWER_ERROR_CODES, NO_ANSWER_ERROR_NAMES, parseFql, RETRYABLE_ERROR_CODE } from './actions-core'

const require = createRequire(__filename)

useStandIn()

describe(`@segment/actions-core ${VERSION}: what src/delivery/actions-core.ts assumes`, () => {
  assumption('a Destination subclass can call the protected executeAction(slug, { event, mapping, settings, auth, features, statsContext, subscriptionMetadata }), which maps the event, validates the payload and runs perform', async () => {
    const before = seen.length
    await open().run(settings(), { name: 'Ada' })
    expect(seen.length).toBe(before + 1)
    expect(JSON.parse(last().body)).toEqual({ name: 'Ada' })
  })

  assumption('executeAction hands the settings object it is given, symbol keys included, to extendRequest and to perform', async () => {
    const key = Symbol('run')
    const given = { ...settings(), [key]: 'this run' }
    const probe: Probe = { settings: [] }
    await open(probe).run(given)
    expect(probe.settings!.length).toBeGreaterThanOrEqual(2)
    for (const s of probe.settings!) expect((s as Record<symbol, unknown>)[key]).toBe('this run')
  })

  assumption('a payload that does not fit the action\'s fields makes executeAction throw an error named AggregateAjvError or ValidationError (the names onEvent gives status 400)', async () => {
    const error = (await open().run(settings(), {}).catch((e: unknown) => e)) as { name?: string }
    expect(['AggregateAjvError', 'ValidationError']).toContain(error?.name)
  })

  assumption('destination.responses is an array the runtime appends each response to, and emptying it in place is safe', async () => {
    const destination = open()
    const responses = destination.responses as unknown[]
    expect(Array.isArray(responses)).toBe(true)
    await destination.run(settings())
    expect(responses.length).toBe(1)
    responses.length = 0
    await destination.run(settings())
    expect(destination.responses).toBe(responses)
    expect(responses.length).toBe(1)
  })

  assumption('a function among a request\'s options reaches the beforeRequest and afterResponse hooks of extendRequest\'s options as the same function', async () => {
    const carry = () => 'this run'
    const got: unknown[] = []
    const hook: Hook = (...args) => void got.push((args.length === 1 ? args[0] : args[1]).csbRelayHooks)
    await open({ options: { csbRelayHooks: carry }, extend: { beforeRequest: [hook], afterResponse: [hook] } }).run(settings())
    expect(got).toEqual([carry, carry])
  })

  assumption('executeAction gets the client it hands perform from its action\'s createRequestClient(data) (destination.actions[slug], replaceable), data without a signal unless given one', async () => {
    const destination = open()
    const asked: Array<{ signal?: unknown; settings?: unknown }> = []
    replaceClients(destination, (build, data) => (asked.push(data), build(data)))
    const given = settings()
    await destination.run(given)
    expect(asked.map((data) => [data.signal, data.settings])).toEqual([[undefined, given]])
  })

  assumption('a client from createRequestClient serves later runs as their own would: each request merges its own options and runs the hooks anew', async () => {
    const got: unknown[] = []
    const probe: Probe = { extend: { afterResponse: [(_request: unknown, options: Record<string, unknown>) => void got.push(options.csbRelayHooks)] } }
    const destination = open(probe)
    let client: unknown
    replaceClients(destination, (build, data) => (client ??= build(data)))
    const [one, two] = [() => 'one', () => 'two']
    probe.options = { csbRelayHooks: one }
    await destination.run(settings(), { name: 'Ada' })
    probe.options = { csbRelayHooks: two }
    await destination.run(settings(), { name: 'Grace' })
    expect(got).toEqual([one, two])
    expect(seen.slice(-2).map((q) => JSON.parse(q.body).name)).toEqual(['Ada', 'Grace'])
  })

  assumption('an action\'s extendRequest (destination.actions[slug].extendRequest) is the definition\'s, which its createRequestClient calls once per run with the run\'s data', async () => {
    const given: unknown[] = []
    const own = definition()
    const extendRequest = (data: { settings: { apiKey: string } }) => (given.push(data.settings), own.extendRequest(data))
    const destination = new Open({ ...own, extendRequest } as never)
    expect((destination.actions.send as unknown as { extendRequest?: unknown }).extendRequest).toBe(extendRequest)
    const [one, two] = [settings(), settings()]
    await destination.run(one)
    await destination.runBatch(two)
    expect(given.length).toBe(2)
    expect(given[0]).toBe(one)
    expect(given[1]).toBe(two)
  })

  assumption('actions-core only reads the options object extendRequest returns: one object handed to every run (executeAction, executeBatch, onDelete, a shared client, an HTTP error, a beforeRequest hook returning options) stays as it was, its headers and hook lists included', async () => {
    const keep: Hook = () => undefined
    const fixed = {
      headers: { Authorization: 'Bearer k1', Accept: 'application/json' },
      timeout: 2000,
      skipResponseCloning: true,
      beforeRequest: [keep, () => ({ headers: { 'x-more': '1' } })],
      afterResponse: [keep]
    }
    const snapshot = (value: unknown): unknown =>
      Array.isArray(value) ? value.map(snapshot) : value && typeof value === 'object' ? Object.fromEntries(Reflect.ownKeys(value).map((k) => [k, snapshot((value as Record<string | symbol, unknown>)[k])])) : value
    const before = snapshot(fixed)
    const parts = [fixed.headers, fixed.beforeRequest, fixed.afterResponse]
    const probe: Probe = { fixed }
    const sent = seen.length
    const destination = open(probe)
    await destination.run(settings())
    await destination.runBatch(settings())
    probe.path = '/text'
    await destination.run(settings()).catch(() => undefined)
    probe.path = undefined
    let client: unknown
    replaceClients(destination, (build, data) => (client ??= build(data)))
    await destination.run(settings(), { name: 'Ada' })
    await destination.run(settings(), { name: 'Grace' })
    const onDelete = (request: Hook, { settings }: { settings: { baseUrl: string } }) => request(`${settings.baseUrl}/json`, { method: 'post', json: {} })
    await new Destination({ ...definition(probe), onDelete } as never).onDelete!({ type: 'delete', userId: 'u-1' } as never, settings() as never)
    expect(seen.length).toBe(sent + 6)
    expect(seen.slice(-6).every((q) => q.headers['x-more'] === '1')).toBe(true)
    expect(snapshot(fixed)).toEqual(before)
    expect([fixed.headers, fixed.beforeRequest, fixed.afterResponse].every((part, i) => part === parts[i])).toBe(true)
  })

  assumption('extendRequest\'s beforeRequest hooks run after defaults and auth are merged in, with the final headers, and one that throws stops the request unsent with its error', async () => {
    let headers: Record<string, string | null> = {}
    const stop = new Error('stop here')
    const beforeRequest: Hook[] = [
      (options) => void (headers = Object.fromEntries(['accept', 'user-agent', 'authorization'].map((name) => [name, options.headers.get(name)]))),
      () => {
        throw stop
      }
    ]
    const before = seen.length
    const error = await open({ extend: { beforeRequest }, options: { username: 'u', password: 'p' } })
      .run(settings())
      .catch((e: unknown) => e)
    expect(error).toBe(stop)
    expect(seen.length).toBe(before)
    expect(headers).toEqual({ accept: 'application/json', 'user-agent': 'Segment (Actions)', authorization: `Basic ${btoa('u:p')}` })
  })

  assumption('extendRequest\'s afterResponse hooks get the request as sent and the response with its body read into data (JSON) or content (text), for any status', async () => {
    const answers: Array<{ url: string; auth: string | null; status: number; data: unknown; content: unknown }> = []
    const afterResponse: Hook[] = [
      (request, _options, response) =>
        void answers.push({ url: request.url, auth: request.headers.get('authorization'), status: response.status, data: response.data, content: response.content })
    ]
    await open({ extend: { afterResponse } }).run(settings())
    await open({ extend: { afterResponse }, path: '/text' }).run(settings()).catch(() => undefined)
    expect(answers).toEqual([
      { url: `${base}/json`, auth: 'Bearer k1', status: 200, data: { success: true }, content: '{"success":true}' },
      { url: `${base}/text`, auth: 'Bearer k1', status: 503, data: 'busy', content: 'busy' }
    ])
  })

  assumption('the request client honours skipResponseCloning: an answer far larger than a clone\'s buffers (256 KB) is read to its end', async () => {
    let length = -1
    const afterResponse: Hook[] = [(_request, _options, response) => void (length = String(response.content).length)]
    const run = open({ extend: { skipResponseCloning: true, afterResponse }, path: '/big' }).run(settings())
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error('the answer was not read within 5 s')), 5000).unref())
    await Promise.race([run, late])
    expect(length).toBe(256 * 1024)
  })

  assumption('the request client honours extendRequest\'s timeout, and fails a request without an answer with an error the seam counts as no answer (NO_ANSWER_ERROR_NAMES / _CODES)', async () => {
    await expectNoAnswer((destination) => destination.run(settings()))
  })

  assumption('a refused connection fails with an error the seam counts as no answer (NO_ANSWER_ERROR_NAMES / _CODES, or a Node connection code)', async () => {
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const error = (await open().run({ apiKey: 'k1', baseUrl: `http://127.0.0.1:${port}` }).catch((e: unknown) => e)) as { name?: string; code?: string }
    expect(NO_ANSWER_ERROR_NAMES.has(String(error?.name)) || NO_ANSWER_ERROR_CODES.has(String(error?.code))).toBe(true)
    expect(error?.code).toBe('ECONNREFUSED')
  })

  assumption('the json option is sent as JSON.stringify(json) with content-type application/json (the body capture records)', async () => {
    await open().run(settings(), { name: 'Zoë "Q"' })
    expect(last().body).toBe(JSON.stringify({ name: 'Zoë "Q"' }))
    expect(last().headers['content-type']).toBe('application/json')
    expect(last().method).toBe('POST')
  })

  assumption('RetryableError carries the code RETRYABLE_ERROR_CODE', () => {
    expect(new RetryableError('later').code).toBe(RETRYABLE_ERROR_CODE)
  })

  assumption('transform (mapping-kit) accepts valid directives on an empty event and throws on an invalid one', () => {
    expect(transform({ name: { '@path': '$.name' }, fixed: 'x' }, {})).toEqual({ fixed: 'x' })
    expect(() => transform({ name: { '@nope': 'x' } } as never, {})).toThrow()
  })

  assumption('onEvent matches subscriptions with the @segment/destination-subscriptions the relay loads (parseFql / matchesFql), lenient readings included', async () => {
    const core = require.resolve('@segment/actions-core')
    expect(require.resolve('@segment/destination-subscriptions', { paths: [core] })).toBe(require.resolve('@segment/destination-subscriptions'))
    const conditions = ['type = "track" and event = "A"', 'event = "A" or event = "B"', 'not type = "track"', 'properties.n > 2']
    const events = [
      { type: 'track', event: 'A', name: 'x', properties: { n: 3 } },
      { type: 'track', event: 'B', name: 'x', properties: { n: 1 } },
      { type: 'page', event: 'A', name: 'x' }
    ]
    for (const subscribe of conditions) {
      const parsed = parseFql(subscribe)
      for (const event of events) {
        const before = seen.length
        const subscription = { subscribe, partnerAction: 'send', mapping: { name: { '@path': '$.name' } } }
        await new Destination(definition() as never).onEvent(event as never, { ...settings(), subscription } as never)
        expect(seen.length - before, `${subscribe} on ${JSON.stringify(event)}`).toBe(matchesFql(parsed, event) ? 1 : 0)
      }
    }
  })

  assumption('Destination.onDelete exists only when the definition has onDelete, which gets the event\'s userId as payload and the extendRequest client; an HTTP error keeps its status in response.status', async () => {
    expect(new Destination(definition() as never).onDelete).toBeUndefined()
    const given: unknown[] = []
    const erasing = {
      ...definition(),
      onDelete: (request: Hook, { payload, settings }: { payload: unknown; settings: { baseUrl: string } }) => {
        given.push(payload)
        return request(`${settings.baseUrl}${(payload as { userId: string }).userId === 'busy' ? '/text' : '/json'}`, { method: 'post', json: payload })
      }
    }
    const before = seen.length
    await new Destination(erasing as never).onDelete!({ type: 'delete', userId: 'u-1' } as never, settings() as never)
    expect(given).toEqual([{ userId: 'u-1', anonymousId: undefined }])
    expect(last().headers.authorization).toBe('Bearer k1')
    const failure = await new Destination(erasing as never).onDelete!({ type: 'delete', userId: 'busy' } as never, settings() as never).catch((e: unknown) => e)
    expect((failure as { response?: { status?: number } }).response?.status).toBe(503)
    expect(seen.length).toBe(before + 2)
  })
})
