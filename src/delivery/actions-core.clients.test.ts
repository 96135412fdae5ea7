/**
 * The seam's request clients (actions-core.ts): runs that get the same options from the
 * instrumented extendRequest share one actions-core client; each request still carries its own
 * run's settings, headers and capture. (The assumptions this rests on: actions-core.test.ts.)
 */
import { describe, expect, it } from 'vitest'
import { sameOptions } from './request-options'

type Factory = (data: unknown) => unknown

describe('request clients shared across runs (RelayDestination)', () => {
  it('runs with the same settings reuse one actions-core client; other settings or another timeout get their own; each request keeps its own headers and capture', async () => {
    const { startSandbox } = await import('../sandbox')
    const { default: csbDestination } = await import('../destination')
    const { runSubscriptions } = await import('./attempt')
    const { instrumentDefinition, RelayDestination } = await import('./actions-core')
    const { compileSubscriptions, defaultSubscriptions } = await import('./subscriptions')
    const sandbox = await startSandbox({ port: 0, apiKey: 'key-one' })
    try {
      let timeout = 2000
      const destination = new RelayDestination(instrumentDefinition(csbDestination, { timeoutMs: () => timeout }))
      // The clients identifyUser's runs get (the seam's factory, wrapped).
      const action = (destination as unknown as { runtime: { actions: Record<string, { createRequestClient: Factory }> } }).runtime.actions.identifyUser
      const built: unknown[] = []
      const make = action.createRequestClient
      action.createRequestClient = function (data) {
        const client = make.call(this, data)
        if (!built.includes(client)) built.push(client)
        return client
      }
      const subs = compileSubscriptions(defaultSubscriptions(csbDestination), csbDestination).filter((s) => s.partnerAction === 'identifyUser')
      const identify = (userId: string) => ({ type: 'identify', userId, traits: { account_id: 'acc-1' }, messageId: userId })
      const one = { apiKey: 'key-one', baseUrl: sandbox.url }
      const two = { apiKey: 'key-two', baseUrl: sandbox.url }

      const r1 = await runSubscriptions(destination, identify('u1'), one, subs)
      // Equal settings in another object (as each task in a worker thread gets): the same client.
      const r2 = await runSubscriptions(destination, identify('u2'), { ...one }, subs)
      expect(built).toHaveLength(1)
      const r3 = await runSubscriptions(destination, identify('u3'), two, subs)
      expect(built).toHaveLength(2)
      timeout = 3000 // a changed timeout (extendRequest's options) builds a new client
      const r4 = await runSubscriptions(destination, identify('u4'), one, subs)
      expect(built).toHaveLength(3)

      const sent = sandbox.requests({ path: '/api/v1_1/user' })
      expect(sent.map((q) => (q.body as { user_id: string }).user_id)).toEqual(['u1', 'u2', 'u3', 'u4'])
      expect(sent.map((q) => q.headers.authorization)).toEqual(['Bearer key-one', 'Bearer key-one', 'Bearer key-two', 'Bearer key-one'])
      for (const q of sent) expect(q.headers['user-agent']).toBe('Segment (Actions)')
      // Each run captured its own exchange (request and response), credentials redacted.
      for (const [r, user, status] of [[r1, 'u1', 200], [r2, 'u2', 200], [r3, 'u3', 401], [r4, 'u4', 200]] as const) {
        const x = r.results[0].exchanges
        expect(x).toHaveLength(1)
        expect((x[0].request.body as { user_id: string }).user_id).toBe(user)
        expect(x[0].request.headers.authorization).toBe('[redacted]')
        expect(x[0].response?.status).toBe(status)
      }
    } finally {
      await sandbox.close()
    }
  })
})

describe('sameOptions (when extendRequest\'s options count as unchanged)', () => {
  const hook = () => undefined
  it('equal: the same keys with identical values, plain objects one level down, lists of identical functions', () => {
    expect(sameOptions({ headers: { a: '1' }, beforeRequest: [hook], timeout: 5 }, { headers: { a: '1' }, beforeRequest: [hook], timeout: 5 })).toBe(true)
  })
  it('different: another value, a key more or less, another function, a key set to undefined beside one absent, a non-plain object', () => {
    expect(sameOptions({ headers: { a: '1' } }, { headers: { a: '2' } })).toBe(false)
    expect(sameOptions({ headers: { a: '1' } }, { headers: { a: '1', b: '1' } })).toBe(false)
    expect(sameOptions({ beforeRequest: [hook] }, { beforeRequest: [() => undefined] })).toBe(false)
    expect(sameOptions({ a: undefined }, { b: undefined })).toBe(false)
    expect(sameOptions({ agent: new Map() }, { agent: new Map() })).toBe(false)
  })
})
