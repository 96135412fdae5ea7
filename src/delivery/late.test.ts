import { describe, expect, it } from 'vitest'
import type { Exchange } from './capture'
import { lateFeatureRequests } from './late'

const exchange = (path: string, body: unknown): Exchange => ({
  request: { method: 'POST', url: `http://127.0.0.1:9/${path.replace(/^\//, '')}`, headers: {}, body }
})

describe('lateFeatureRequests', () => {
  const sentAt = Date.parse('2026-11-29T00:10:00Z')

  it('counts feature requests whose timestamp is on another UTC day than the send', () => {
    expect(lateFeatureRequests([{ exchanges: [exchange('/api/v1_1/feature', { timestamp: '2026-11-28T23:59:59Z' })] }], sentAt)).toBe(1)
    expect(lateFeatureRequests([{ exchanges: [exchange('/api/v1_1/feature', { timestamp: '2026-11-30T00:00:00Z' })] }], sentAt)).toBe(1)
    // Same UTC day, even written with an offset that puts it on another local day.
    expect(lateFeatureRequests([{ exchanges: [exchange('/api/v1_1/feature', { timestamp: '2026-11-28T19:30:00-05:00' })] }], sentAt)).toBe(0)
    expect(lateFeatureRequests([{ exchanges: [exchange('/api/v1_1/feature', { timestamp: '2026-11-29T00:00:00.000Z' })] }], sentAt)).toBe(0)
  })

  it('ignores other endpoints and bodies without a readable timestamp', () => {
    const old = { timestamp: '2020-01-01T00:00:00Z' }
    expect(lateFeatureRequests([{ exchanges: [exchange('/api/v1_1/user', old), exchange('/api/v1_1/login', old), exchange('/api_js/v1_1/page', old)] }], sentAt)).toBe(0)
    expect(lateFeatureRequests([{ exchanges: [exchange('/api/v1_1/feature', {}), exchange('/api/v1_1/feature', { timestamp: 'yesterday' }), exchange('/api/v1_1/feature', null)] }], sentAt)).toBe(0)
    expect(lateFeatureRequests([{ exchanges: [exchange('/api/v1_1/feature/extra', old)] }], sentAt)).toBe(0)
  })

  it('counts each late request of a delivery (several subscriptions)', () => {
    const old = { timestamp: '2026-11-27T12:00:00Z' }
    const runs = [{ exchanges: [exchange('/api/v1_1/feature', old), exchange('/api/v1_1/user', old)] }, { exchanges: [exchange('/api/v1_1/feature', old)] }]
    expect(lateFeatureRequests(runs, sentAt)).toBe(2)
  })
})
