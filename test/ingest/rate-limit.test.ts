/**
 * Per-source rate limits through the built relay (`npm run build` first): a source over its
 * `maxEventsPerSecond` gets 429 with Retry-After and nothing of the refused request is stored,
 * on every ingest route (/v1/webhook and large bodies on the parse thread included); events are
 * counted, not requests, per source, in /metrics.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store'
import { startRelayProcess } from '../helpers/processes'
import { postEvents } from '../helpers/http'
import { parsePrometheus } from '../helpers/prom'
import { removeTempDirs } from '../helpers/temp'

afterAll(removeTempDirs)

// So slow that nothing refills while the test runs: what passes is the burst alone.
const SLOW = 0.01

const track = (id: string, padding = '') => ({ type: 'track', userId: 'u1', event: 'Clicked', messageId: id, properties: { padding } })

describe('sources[].maxEventsPerSecond through the relay', () => {
  it('refuses a source over its limit with 429 + Retry-After, stores nothing of the refused requests, and counts their events per source', async () => {
    const relay = await startRelayProcess({
      config: {
        sources: [
          { name: 'web', writeKey: 'wk_web', maxEventsPerSecond: SLOW, burstEvents: 5 },
          { name: 'bulk', writeKey: 'wk_bulk', maxEventsPerSecond: SLOW, burstEvents: 50 },
          { name: 'free', writeKey: 'wk_free' }
        ]
      }
    })
    try {
      // web: a batch of 5 takes the whole burst; then a single event, a batch and a webhook are refused.
      expect((await postEvents(relay.url, '/v1/batch', 'wk_web', { batch: [0, 1, 2, 3, 4].map((i) => track(`web-${i}`)) })).status).toBe(200)
      const single = await postEvents(relay.url, '/v1/track', 'wk_web', track('web-refused-1'))
      expect(single.status).toBe(429)
      expect(Number(single.retryAfter)).toBeGreaterThanOrEqual(1)
      expect(single.json().error).toMatch(/^source "web" is over its rate limit of 0\.01 events\/s \(sources\[\]\.maxEventsPerSecond\): none of this request's 1 events were stored; retry after \d+ s$/)
      const batch = await postEvents(relay.url, '/v1/batch', 'wk_web', { batch: [track('web-refused-2'), track('web-refused-3'), track('web-refused-4')] })
      expect(batch.status).toBe(429)
      expect(batch.retryAfter).not.toBeNull()
      const webhook = await postEvents(relay.url, '/v1/webhook', 'wk_web', track('web-refused-5'))
      expect(webhook.status).toBe(429)
      expect(webhook.json().error).toContain('source "web" is over its rate limit')

      // bulk: large bodies (parsed on the parse thread) count their events too. A batch larger
      // than the burst passes while the burst is whole, and the next is refused naming the burst.
      const padding = 'x'.repeat(400)
      const big = (prefix: string) => ({ batch: Array.from({ length: 60 }, (_, i) => track(`${prefix}-${i}`, padding)) })
      expect(JSON.stringify(big('bulk')).length).toBeGreaterThan(16 * 1024)
      expect((await postEvents(relay.url, '/v1/batch', 'wk_bulk', big('bulk'))).status).toBe(200)
      const over = await postEvents(relay.url, '/v1/batch', 'wk_bulk', big('bulk-refused'))
      expect(over.status).toBe(429)
      expect(over.json().error).toContain("none of this request's 60 events were stored, more than its burst of 50 (sources[].burstEvents)")

      // free: no limit.
      for (let i = 0; i < 20; i++) expect((await postEvents(relay.url, '/v1/track', 'wk_free', track(`free-${i}`))).status).toBe(200)

      const metrics = parsePrometheus(await (await fetch(`${relay.url}/metrics`)).text())
      const limited = metrics.get('csb_relay_rate_limited_events_total')?.samples ?? []
      expect(Object.fromEntries(limited.map((s) => [s.labels.source, s.value]))).toEqual({ web: 5, bulk: 60 })
    } finally {
      expect((await relay.stop()).code).toBe(0)
    }

    const store = await openStore(relay.db)
    try {
      const ids = (await store.list({ limit: 1000 })).map((e) => e.messageId)
      expect(ids.filter((id) => id.includes('refused'))).toEqual([])
      expect(ids.filter((id) => id.startsWith('web-'))).toHaveLength(5)
      expect(ids.filter((id) => id.startsWith('bulk-'))).toHaveLength(60)
      expect(ids.filter((id) => id.startsWith('free-'))).toHaveLength(20)
    } finally {
      await store.close()
    }
  })
})
