import { describe, expect, it } from 'vitest'
import { parseRetryAfter, retryDelayMs } from './backoff'

const s = { backoffBaseMs: 1000, backoffCapMs: 300_000 }

describe('retryDelayMs: exponential backoff with full jitter', () => {
  it('doubles the ceiling with each attempt, starting at the base', () => {
    const top = () => 0.999999
    expect(retryDelayMs(1, s, null, top)).toBe(999)
    expect(retryDelayMs(2, s, null, top)).toBe(1999)
    expect(retryDelayMs(5, s, null, top)).toBe(15_999)
  })

  it('never exceeds the cap, however many attempts', () => {
    for (const attempt of [9, 10, 30, 1000]) expect(retryDelayMs(attempt, s, null, () => 0.999999)).toBeLessThan(300_000)
  })

  it('is fully jittered: anywhere from 0 to the ceiling', () => {
    expect(retryDelayMs(4, s, null, () => 0)).toBe(0)
    expect(retryDelayMs(4, s, null, () => 0.5)).toBe(4000)
    const seen = new Set(Array.from({ length: 200 }, () => retryDelayMs(6, s)))
    expect(seen.size).toBeGreaterThan(100)
    for (const d of seen) expect(d).toBeGreaterThanOrEqual(0), expect(d).toBeLessThan(32_000)
  })

  it('honours Retry-After: never earlier than CSB asked', () => {
    expect(retryDelayMs(1, s, 7000, () => 0.1)).toBe(7000)
    expect(retryDelayMs(10, s, 2000, () => 0.9)).toBe(Math.floor(0.9 * 300_000))
  })

  it('reads base and cap from the settings', () => {
    expect(retryDelayMs(3, { backoffBaseMs: 50, backoffCapMs: 120 }, null, () => 0.999999)).toBe(119)
  })
})

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000)
    expect(parseRetryAfter('0.5')).toBe(500)
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000)
  })
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(undefined)).toBeNull()
    expect(parseRetryAfter('')).toBeNull()
    expect(parseRetryAfter('soon')).toBeNull()
  })
})
