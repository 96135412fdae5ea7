/**
 * @segment/analytics-next in headless Chromium, loaded with `cdnURL` = the relay: it fetches
 * its settings from the relay and sends every event there (text/plain, cross-origin).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { BrowserContext } from 'playwright-core'
import type { Relay } from '../../src/cli/relay'
import { launchBrowser } from '../helpers/browser'
import { startPageServer, type PageServer } from '../helpers/page-server'
import { TEST_WRITE_KEY, startTestRelay } from '../helpers/relay'
import { removeTempDirs } from '../helpers/temp'

const PAGE = `<!doctype html><html><head><title>shop</title>
<script src="/analytics.js"></script>
<script>
  window.runAnalytics = async function (writeKey, cdnURL) {
    const [analytics] = await AnalyticsNext.AnalyticsBrowser.load({ writeKey, cdnURL }, { retryQueue: false })
    const contexts = [
      await analytics.identify('b-user', { email: 'b@example.com', user_id: 'csb-b' }),
      await analytics.track('Checkout Started', { total: 42 }),
      await analytics.page('Shop', 'Cart', { path: '/cart' }),
      await analytics.group('b-account', { name: 'B Co' }),
      await analytics.alias('b-user-2', 'b-user')
    ]
    return contexts.map((ctx) => ({ messageId: ctx.event.messageId, type: ctx.event.type, failed: ctx.failedDelivery() ? String(ctx.failedDelivery().reason) : null }))
  }
  // The library's optional batching delivery: events go together to <apiHost>/b.
  window.runBatched = async function (writeKey, cdnURL) {
    const [analytics] = await AnalyticsNext.AnalyticsBrowser.load({ writeKey, cdnURL }, {
      retryQueue: false,
      integrations: { 'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 3, timeout: 200 } } } }
    })
    const contexts = await Promise.all([
      analytics.track('Batched One'), analytics.track('Batched Two'), analytics.identify('batched-user')
    ])
    return contexts.map((ctx) => ctx.event.messageId)
  }
</script></head><body>shop</body></html>`

let relay: Relay
let pages: PageServer
let browser: BrowserContext
const relayRequests: Array<{ method?: string; url?: string; type?: string }> = []

beforeAll(async () => {
  relay = await startTestRelay()
  relay.app.server.on('request', (req) => relayRequests.push({ method: req.method, url: req.url, type: req.headers['content-type'] }))
  pages = await startPageServer(PAGE)
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await pages?.close()
  await relay?.close()
  removeTempDirs()
})

describe('@segment/analytics-next in Chromium', () => {
  beforeEach(() => { relayRequests.length = 0 })

  it('loads its settings from the relay and every event it sends is stored with its fields', async () => {
    const page = await browser.newPage()
    const consoleErrors: string[] = []
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()) })
    const bodies = new Map<string, Record<string, unknown>>()
    page.on('request', (request) => {
      if (request.method() !== 'POST') return
      const body = JSON.parse(request.postData() ?? '{}') as Record<string, unknown>
      bodies.set(body.messageId as string, body)
    })
    await page.goto(pages.url)
    const sent = (await page.evaluate(
      ([key, url]) => (window as unknown as { runAnalytics(k: string, u: string): Promise<unknown> }).runAnalytics(key!, url!),
      [TEST_WRITE_KEY, relay.url]
    )) as Array<{ messageId: string; type: string; failed: string | null }>

    expect(sent.map((s) => s.failed)).toEqual([null, null, null, null, null])
    expect(consoleErrors).toEqual([])
    expect(relayRequests[0]).toMatchObject({ method: 'GET', url: `/v1/projects/${TEST_WRITE_KEY}/settings` })
    const posts = relayRequests.filter((r) => r.method === 'POST')
    expect(posts.map((r) => r.url)).toEqual(['/v1/i', '/v1/t', '/v1/p', '/v1/g', '/v1/a'])
    expect(posts.every((r) => r.type?.startsWith('text/plain'))).toBe(true)

    for (const s of sent) {
      const [event] = (await relay.store.list({ limit: 100 })).filter((e) => e.messageId === s.messageId)
      expect(event, `${s.type} ${s.messageId} stored`).toBeDefined()
      expect(event!.type).toBe(s.type)
      expect(event!.source).toBe('env-1')
      expect(event!.event.receivedAt).toEqual(expect.any(String))
      expect(event!.event.sentAt).toEqual(expect.any(String))
      expect(event!.event.anonymousId).toEqual(expect.any(String))
      expect(JSON.stringify(event!.event)).not.toContain(TEST_WRITE_KEY)
      expect((event!.event.context as { library: { name: string } }).library.name).toBe('analytics.js')
      // Every field as the browser sent it, but the write key and the skew-corrected timestamp.
      const { writeKey, timestamp, ...rest } = bodies.get(s.messageId)!
      expect(writeKey).toBe(TEST_WRITE_KEY)
      expect(event!.event).toMatchObject(rest)
      expect(event!.event.originalTimestamp).toBe(timestamp)
    }
    const byType = Object.fromEntries((await relay.store.list({ limit: 100 })).map((e) => [e.type, e]))
    expect(byType.identify!.event).toMatchObject({ userId: 'b-user', traits: { email: 'b@example.com' } })
    expect(byType.identify!.orderingKey).toBe('csb-b')
    expect(byType.track!.event).toMatchObject({ event: 'Checkout Started', properties: { total: 42 }, userId: 'b-user' })
    expect(byType.page!.event).toMatchObject({ name: 'Cart', category: 'Shop', properties: { path: '/cart' } })
    expect(byType.group!.event).toMatchObject({ groupId: 'b-account', traits: { name: 'B Co' } })
    expect(byType.alias!.event).toMatchObject({ previousId: 'b-user' })
  })

  it('with the batching delivery strategy, sends its events together to /v1/b and each is stored', async () => {
    const page = await browser.newPage()
    await page.goto(pages.url)
    const ids = (await page.evaluate(
      ([key, url]) => (window as unknown as { runBatched(k: string, u: string): Promise<string[]> }).runBatched(key!, url!),
      [TEST_WRITE_KEY, relay.url]
    ))
    expect(ids).toHaveLength(3)
    const posts = relayRequests.filter((r) => r.method === 'POST')
    expect(posts.length).toBeGreaterThan(0)
    expect(posts.every((r) => r.url === '/v1/b')).toBe(true)
    const stored = new Map((await relay.store.list({ limit: 100 })).map((e) => [e.messageId, e]))
    for (const id of ids) expect(stored.get(id)?.source, id).toBe('env-1')
    expect(stored.get(ids[0]!)!.event).toMatchObject({ type: 'track', event: 'Batched One' })
    expect(stored.get(ids[2]!)!.event).toMatchObject({ type: 'identify', userId: 'batched-user' })
  })
})
