import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { fakeStore } from '../../test/helpers/fake-store'
import { basic, ingestApp } from '../../test/helpers/ingest-app'
import { isOpaqueBatch } from '../store'
import { IngestError } from './errors'
import { expand } from './opaque'
import { ParseThreads } from './parse-thread'

const apps: FastifyInstance[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close()
})

/**
 * The same plugin twice: every body parsed on a parse thread, and every body on the request
 * thread. `opaque`: the threaded app's store keeps opaque batches (as SQLite does), so the thread
 * hands over the body; else it hands over serialised events (as for PostgreSQL).
 */
async function pair(opaque: boolean) {
  const store = fakeStore()
  Object.assign(store, { keepsOpaqueBatches: opaque })
  const threaded = await ingestApp({ parseThreads: 1, parseThreadMinBytes: 0, store })
  const inline = await ingestApp({ parseThreads: 0 })
  apps.push(threaded.app, inline.app)
  return { threaded, inline }
}

const headers = { 'content-type': 'application/json', authorization: basic() }

/** Normalisation stamps the time of receipt; everything else must match exactly. */
function comparable(event: Record<string, unknown>) {
  const { receivedAt, timestamp, ...rest } = event
  expect(receivedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  return rest
}

describe.each([
  ['an opaque batch (SQLite)', true],
  ['serialised events (PostgreSQL)', false]
])('parse threads handing over %s', (_, opaque) => {
  it('store a batch exactly as the request thread does: normalisation, envelope merge, ids, source, ordering keys', async () => {
    const { threaded, inline } = await pair(opaque)
    const body = {
      sentAt: '2026-01-01T12:00:05.000Z',
      context: { library: { name: 'analytics-node' }, ip: '203.0.113.9' },
      integrations: { All: true },
      batch: [
        { type: 'identify', messageId: 'p-1', userId: 42, traits: { email: 'a@example.com' }, timestamp: '2026-01-01T12:00:00.000Z' },
        { type: 'track', messageId: 'p-2', userId: 'u1', event: 'Report Built', properties: { csb_user_id: 'csb-9' }, context: { ip: '198.51.100.1' } },
        { type: 'group', messageId: 'p-3', anonymousId: 'anon-1', groupId: 'acme', writeKey: 'must-not-be-kept' },
        { type: 'page', messageId: 'p-4', userId: 'u1', name: 'Home', integrations: { CustomerSuccessBox: false } }
      ]
    }
    for (const { app } of [threaded, inline]) {
      const res = await app.inject({ method: 'POST', url: '/v1/batch', headers, payload: body })
      expect(res.statusCode).toBe(200)
    }
    expect(threaded.store.events).toHaveLength(4)
    const strip = (e: (typeof threaded.store.events)[number]) => ({ ...e, id: undefined, receivedAt: undefined, runAt: undefined, event: comparable(e.event) })
    expect(threaded.store.events.map(strip)).toEqual(inline.store.events.map(strip))
    expect(threaded.store.events[1]!.event).toMatchObject({ context: { library: { name: 'analytics-node' }, ip: '198.51.100.1' }, integrations: { All: true } })
    expect(threaded.store.events[2]!.event).not.toHaveProperty('writeKey')
  })

  it('refuse bad requests with the same status and message as the request thread', async () => {
    const { threaded, inline } = await pair(opaque)
    const oversize = { type: 'track', userId: 'u', event: 'Big', properties: { blob: 'x'.repeat(40 * 1024) } }
    const bodies = [
      '{"batch": [',
      JSON.stringify({ batch: [{ type: 'track', userId: 'u', event: 'ok' }, { type: 'track', userId: 'u' }, { type: 'shout', userId: 'u' }] }),
      JSON.stringify({ batch: [oversize] }),
      JSON.stringify({ batch: 'nope' }),
      JSON.stringify({ type: 'track', event: 'x' })
    ]
    for (const payload of bodies) {
      const url = payload.includes('"batch"') ? '/v1/batch' : '/v1/track'
      const a = await threaded.app.inject({ method: 'POST', url, headers, payload })
      const b = await inline.app.inject({ method: 'POST', url, headers, payload })
      expect(a.statusCode).toBeGreaterThanOrEqual(400)
      expect([a.statusCode, a.json()]).toEqual([b.statusCode, b.json()])
    }
    expect(threaded.store.events).toHaveLength(0)
  })
})

describe('parse threads', () => {
  it('a thread that dies fails its requests with 503 (retry) and is replaced', async () => {
    const threads = new ParseThreads(1, { maxEventBytes: 32 * 1024, maxBatchEvents: 2500 })
    try {
      const body = Buffer.from(JSON.stringify({ batch: [{ type: 'track', userId: 'u', event: 'E' }] }))
      const pending = threads.parse('batch', Buffer.from(body), 'src', new Date())
      // The thread's worker, terminated as a crash would end it.
      await (threads as unknown as { threads: Array<{ rpc: { worker: { terminate(): Promise<number> } } }> }).threads[0]!.rpc.worker.terminate()
      const error = await pending.then(() => null, (e: unknown) => e)
      expect(error).toBeInstanceOf(IngestError)
      expect(error).toMatchObject({ statusCode: 503, message: expect.stringMatching(/retry later/) })
      const { batch } = await threads.parse('batch', Buffer.from(body), 'src', new Date())
      expect(batch).toMatchObject({ opaque: true, n: 1 })
      if (!isOpaqueBatch(batch)) throw new Error('expected an opaque batch')
      expect(expand(batch.head, batch.body)).toMatchObject([{ source: 'src', type: 'track', orderingKey: 'u', event: { event: 'E', userId: 'u' } }])
    } finally {
      await threads.close()
    }
  })
})
