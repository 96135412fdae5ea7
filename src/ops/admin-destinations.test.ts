/**
 * The admin API per destination: the overview's per-destination rows and its `destination`
 * filter, event lists, reasons and replay narrowed to one destination, and a 400 naming the known
 * destinations for a name the store does not know.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStore } from '../store'
import type { NewEvent, Store } from '../store/types'
import { opsPlugin, type OpsOptions } from './index'

const event = (i: number): NewEvent => ({
  source: 'test',
  messageId: `m-${i}`,
  orderingKey: `user-${i}`,
  type: 'track',
  event: { type: 'track', messageId: `m-${i}`, userId: `user-${i}`, event: `Feature ${i}` },
  receivedAt: new Date()
})

describe('admin API per destination', () => {
  let store: Store
  let app: FastifyInstance

  beforeEach(async () => {
    store = await openStore(':memory:', { destinations: ['CustomerSuccessBox', 'hooks'] })
    app = Fastify()
    await app.register(opsPlugin, { registry: new Registry(), store, config: {}, secrets: [] } as unknown as OpsOptions)
    await app.ready()
    await store.enqueue([event(1), event(2)])
    // CSB delivers both; the webhook dead-letters both with a 503 reason.
    const csb = await store.lease({ limit: 10, leaseMs: 60_000, owner: 't', destination: 'CustomerSuccessBox' })
    await store.complete(csb.map((e) => ({ id: e.id, action: 'trackFeature', status: 200 })))
    const hooks = await store.lease({ limit: 10, leaseMs: 60_000, owner: 't', destination: 'hooks' })
    expect(hooks.map((e) => e.destination)).toEqual(['hooks', 'hooks'])
    await store.deadLetter(hooks.map((e) => ({ id: e.id, reason: 'HTTP 503 from the hook', action: 'send', status: 503 })))
  })
  afterEach(async () => {
    await app.close()
    await store.close()
  })

  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url })
    return { status: res.statusCode, body: res.json() }
  }

  it('shows each destination in the overview, and narrows the overview to one', async () => {
    const all = await get('/api/overview?period=1h')
    expect(all.status).toBe(200)
    expect(all.body.destination).toBeNull()
    const rows = Object.fromEntries(all.body.destinations.map((d: { name: string }) => [d.name, d]))
    expect(rows.CustomerSuccessBox.stored).toEqual({ delivered: 2, dead: 0, skipped: 0 })
    expect(rows.hooks.stored).toEqual({ delivered: 0, dead: 2, skipped: 0 })
    const hooks = await get('/api/overview?period=1h&destination=hooks')
    expect(hooks.body.destination).toBe('hooks')
    expect(hooks.body.stored).toEqual({ delivered: 0, dead: 2, skipped: 0 })
    expect(hooks.body.totals.delivered).toBe(0)
    expect(hooks.body.reasons.map((r: { destination: string }) => r.destination)).toEqual(['hooks'])
    const csb = await get('/api/overview?period=1h&destination=CustomerSuccessBox')
    expect(csb.body.totals.delivered).toBe(2)
    expect(csb.body.reasons).toEqual([])
  })

  it('lists and explains one destination\'s dead letters, and refuses an unknown destination', async () => {
    const dead = await get('/api/events?status=dead&destination=hooks')
    expect(dead.body.events).toHaveLength(2)
    expect(dead.body.events.every((e: { destination: string }) => e.destination === 'hooks')).toBe(true)
    expect((await get('/api/events?status=dead&destination=CustomerSuccessBox')).body.events).toHaveLength(0)
    expect((await get('/api/reasons?destination=CustomerSuccessBox')).body.reasons).toEqual([])
    expect((await get('/api/reasons?destination=hooks')).body.reasons[0].destination).toBe('hooks')
    const unknown = await get('/api/events?destination=hokks')
    expect(unknown.status).toBe(400)
    expect(unknown.body.error).toBe('unknown destination "hokks"; known: CustomerSuccessBox, hooks')
  })

  it('replays only the named destination\'s dead letters', async () => {
    const none = await app.inject({ method: 'POST', url: '/api/replay', payload: { all: true, destination: 'CustomerSuccessBox' } })
    expect(none.json()).toEqual({ replayed: 0 })
    const bad = await app.inject({ method: 'POST', url: '/api/replay', payload: { all: true, destination: 'nope' } })
    expect(bad.statusCode).toBe(400)
    const hooks = await app.inject({ method: 'POST', url: '/api/replay', payload: { all: true, destination: 'hooks' } })
    expect(hooks.json()).toEqual({ replayed: 2 })
    const counts = await store.counts()
    expect(counts.byDestination.hooks.pending).toBe(2)
    expect(counts.byDestination.CustomerSuccessBox.delivered).toBe(2)
  })
})
