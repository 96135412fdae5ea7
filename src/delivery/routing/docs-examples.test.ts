/** docs/routing.md stays true: its config example compiles and its tables match what route() does. */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createRouter } from '.'
import type { SegmentEvent } from '../../store/types'

const doc = fs.readFileSync(path.resolve(__dirname, '../../../docs/routing.md'), 'utf8')

describe('docs/routing.md', () => {
  it('its filters example is accepted and behaves as described', () => {
    const json = /```json\n([\s\S]*?)\n```/.exec(doc)?.[1]
    expect(json).toBeDefined()
    const { filters } = JSON.parse(json!) as { filters: unknown[] }
    const router = createRouter(filters)
    expect(router.summary).toHaveLength(4)
    const identify: SegmentEvent = { type: 'identify', messageId: 'm', userId: 'u', traits: { email: 'e', name: 'n' } }
    const routed = router.route(identify)
    expect(routed.deliver && routed.event.traits).toEqual({ name: 'n' })
    expect(router.route({ type: 'track', messageId: 'm', userId: 'u', event: 'X', properties: { internal: true } })).toEqual({
      deliver: false,
      reason: 'filter "no internal" (#1) dropped the event'
    })
    const page = router.route({ type: 'page', messageId: 'm', userId: 'u' })
    expect(page.deliver === false && page.reason).toBe(
      'filter "tracks and identifies" (#2) did not keep the event: it does not match type = "track" or type = "identify"'
    )
    expect(doc).toContain(page.deliver === false ? page.reason : '')
  })

  it('every row of the integrations table holds', () => {
    const rows = [...doc.matchAll(/^\| (absent, or `\{\}`|`\{.*?\}`(?: or `\{.*?\}`)?(?: \(.*?\))?) \| (yes|no) \|(.*?)\|$/gm)]
    expect(rows.length).toBe(7)
    const router = createRouter(undefined)
    for (const [, cell, delivered, reason] of rows) {
      const objects = [...cell.matchAll(/`(\{.*?\})`/g)].map((m) => m[1].replace('{...}', '{"x": 1}'))
      const samples = cell.startsWith('absent') ? [undefined, {}] : objects.map((o) => JSON.parse(o) as Record<string, unknown>)
      for (const integrations of samples) {
        const result = router.route({ type: 'track', messageId: 'm', userId: 'u', event: 'E', ...(integrations ? { integrations } : {}) })
        expect(result.deliver ? 'yes' : 'no', cell).toBe(delivered)
        if (!result.deliver) expect('`' + result.reason + '`').toBe(reason.trim())
      }
    }
  })
})
