/**
 * Real SDKs against a real relay (SQLite store): every event they send is stored with the
 * fields the Segment spec gives it.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { Analytics as SegmentNode } from '@segment/analytics-node'
import RudderNode from '@rudderstack/rudder-sdk-node'
import type { Relay } from '../../src/cli/relay'
import type { StoredEvent } from '../../src/store/types'
import { TEST_WRITE_KEY, startTestRelay } from '../helpers/relay'
import { removeTempDirs } from '../helpers/temp'

let relay: Relay | undefined
afterEach(async () => { await relay?.close(); relay = undefined })
afterAll(removeTempDirs)

async function stored(r: Relay): Promise<StoredEvent[]> {
  return (await r.store.list({ limit: 1000 })).sort((a, b) => Number(a.id) - Number(b.id))
}

function expectNormalised(e: StoredEvent) {
  expect(e.source).toBe('env-1')
  expect(e.event.receivedAt).toEqual(expect.any(String))
  expect(Date.parse(e.event.timestamp as string)).not.toBeNaN()
  expect(e.event.sentAt).toEqual(expect.any(String))
  expect(e.event.originalTimestamp).toEqual(expect.any(String))
  expect(JSON.stringify(e.event)).not.toContain(TEST_WRITE_KEY)
}

describe('@segment/analytics-node', () => {
  it('sends identify, track, page, screen, group and alias; each is stored with its fields', async () => {
    relay = await startTestRelay()
    const analytics = new SegmentNode({ writeKey: TEST_WRITE_KEY, host: relay.url, path: '/v1/batch', flushAt: 1, maxRetries: 0 })
    const failures: unknown[] = []
    analytics.on('error', (err) => failures.push(err))
    const ids: string[] = []
    const sent = (err: unknown, ctx: { event: { messageId?: string } } | undefined) => {
      if (err) failures.push(err)
      if (ctx?.event.messageId) ids.push(ctx.event.messageId)
    }
    analytics.identify({ userId: 'user-1', traits: { email: 'ann@example.com', user_id: 'csb-1' } }, sent)
    analytics.track({ userId: 'user-1', event: 'Report Built', properties: { rows: 3 } }, sent)
    analytics.page({ userId: 'user-1', name: 'Home', properties: { path: '/' } }, sent)
    analytics.screen({ userId: 'user-1', name: 'Main' }, sent)
    analytics.group({ userId: 'user-1', groupId: 'acme', traits: { name: 'Acme' } }, sent)
    analytics.alias({ userId: 'user-1', previousId: 'anon-1' }, sent)
    await analytics.closeAndFlush({ timeout: 10_000 })
    expect(failures).toEqual([])

    const events = await stored(relay)
    expect(events.map((e) => e.messageId).sort()).toEqual([...ids].sort())
    expect(events).toHaveLength(6)
    const byType = Object.fromEntries(events.map((e) => [e.type, e]))
    expect(byType.identify!.event).toMatchObject({ userId: 'user-1', traits: { email: 'ann@example.com' } })
    expect(byType.identify!.orderingKey).toBe('csb-1')
    expect(byType.track!.event).toMatchObject({ event: 'Report Built', properties: { rows: 3 } })
    expect(byType.track!.orderingKey).toBe('user-1')
    expect(byType.page!.event).toMatchObject({ name: 'Home', properties: { path: '/' } })
    expect(byType.screen!.event).toMatchObject({ name: 'Main' })
    expect(byType.group!.event).toMatchObject({ groupId: 'acme', traits: { name: 'Acme' } })
    expect(byType.alias!.event).toMatchObject({ previousId: 'anon-1', userId: 'user-1' })
    for (const e of events) {
      expectNormalised(e)
      expect((e.event.context as { library: { name: string } }).library.name).toBe('@segment/analytics-node')
    }
  })
})

describe('@rudderstack/rudder-sdk-node', () => {
  it('sends gzip batches to /v1/batch; each event is stored with its fields', async () => {
    relay = await startTestRelay()
    const requests: Array<{ url?: string; encoding?: string }> = []
    relay.app.server.on('request', (req) => requests.push({ url: req.url, encoding: req.headers['content-encoding'] }))
    const analytics = new RudderNode(TEST_WRITE_KEY, { dataPlaneUrl: relay.url, flushAt: 10, flushInterval: 60_000, retryCount: 0, logLevel: 'error' })
    analytics.identify({ userId: 'r-user', traits: { plan: 'pro' } })
    analytics.track({ userId: 'r-user', event: 'Seat Added', properties: { seats: 4 } })
    analytics.group({ userId: 'r-user', groupId: 'r-acct', traits: { name: 'R Co' } })
    analytics.page({ anonymousId: 'r-anon', name: 'Pricing' })
    await new Promise<void>((resolve, reject) => {
      analytics.flush((err?: Error) => (err ? reject(err) : resolve()))
    })

    const events = await stored(relay)
    expect(events.map((e) => e.type).sort()).toEqual(['group', 'identify', 'page', 'track'])
    const byType = Object.fromEntries(events.map((e) => [e.type, e]))
    expect(byType.identify!.event).toMatchObject({ userId: 'r-user', traits: { plan: 'pro' } })
    expect(byType.track!.event).toMatchObject({ event: 'Seat Added', properties: { seats: 4 } })
    expect(byType.group!.event).toMatchObject({ groupId: 'r-acct' })
    expect(byType.page!.event).toMatchObject({ anonymousId: 'r-anon', name: 'Pricing' })
    expect(byType.page!.orderingKey).toBe('r-anon')
    for (const e of events) {
      expect(e.messageId).toBe(e.event.messageId)
      expect(e.event.receivedAt).toEqual(expect.any(String))
      expect((e.event.context as { library: { name: string } }).library.name).toBe('analytics-node')
    }
    expect(requests.length).toBeGreaterThan(0)
    for (const request of requests) expect(request).toEqual({ url: '/v1/batch', encoding: 'gzip' })
  })
})
