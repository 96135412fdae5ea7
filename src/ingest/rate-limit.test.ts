import { describe, expect, it } from 'vitest'
import { IngestError } from './errors'
import { SourceRateLimits, defaultBurst } from './rate-limit'

function clock() {
  let ms = 1_000
  return { now: () => ms, advance: (by: number) => (ms += by) }
}

function refusal(fn: () => void): IngestError {
  try {
    fn()
  } catch (err) {
    if (err instanceof IngestError) return err
    throw err
  }
  throw new Error('expected a refusal')
}

describe('SourceRateLimits', () => {
  it('counts events, not requests: a batch of 10 takes what 10 single events take', () => {
    const time = clock()
    const limits = new SourceRateLimits([{ name: 'web', maxEventsPerSecond: 10 }], time.now)
    limits.take('web', 10)
    const err = refusal(() => limits.take('web', 1))
    expect(err.statusCode).toBe(429)
    expect(err.retryAfterSeconds).toBe(1)
    expect(err.message).toBe(
      'source "web" is over its rate limit of 10 events/s (sources[].maxEventsPerSecond): none of this request\'s 1 events were stored; retry after 1 s'
    )
  })

  it('refills at the rate, up to the burst', () => {
    const time = clock()
    const limits = new SourceRateLimits([{ name: 'web', maxEventsPerSecond: 4, burstEvents: 8 }], time.now)
    limits.take('web', 8)
    expect(() => limits.take('web', 1)).toThrow(IngestError)
    time.advance(500)
    limits.take('web', 2)
    expect(() => limits.take('web', 1)).toThrow(IngestError)
    time.advance(60_000)
    limits.take('web', 8)
    expect(() => limits.take('web', 1)).toThrow(IngestError)
  })

  it('accepts a request larger than the burst when the burst is whole, then makes the source wait out the debt', () => {
    const time = clock()
    const limits = new SourceRateLimits([{ name: 'web', maxEventsPerSecond: 10 }], time.now)
    limits.take('web', 5)
    const early = refusal(() => limits.take('web', 30))
    expect(early.message).toContain("none of this request's 30 events were stored, more than its burst of 10 (sources[].burstEvents)")
    time.advance(500)
    limits.take('web', 30)
    // 20 events of debt plus one: 2.1 s at 10 events/s.
    expect(refusal(() => limits.take('web', 1)).retryAfterSeconds).toBe(3)
    time.advance(2_100)
    limits.take('web', 1)
  })

  it('keeps each source to its own allowance and leaves sources without a limit alone', () => {
    const time = clock()
    const limits = new SourceRateLimits([{ name: 'a', maxEventsPerSecond: 1 }, { name: 'b', maxEventsPerSecond: 1 }, { name: 'free' }], time.now)
    limits.take('a', 1)
    limits.take('b', 1)
    expect(() => limits.take('a', 1)).toThrow(IngestError)
    for (let i = 0; i < 1000; i++) limits.take('free', 100)
    limits.take('unknown', 100)
  })

  it('gives back what a request that was not stored took', () => {
    const time = clock()
    const limits = new SourceRateLimits([{ name: 'web', maxEventsPerSecond: 5 }], time.now)
    limits.take('web', 5)
    limits.giveBack('web', 5)
    limits.take('web', 5)
    expect(() => limits.take('web', 1)).toThrow(IngestError)
  })

  it('waits one second at least, and rounds Retry-After up to whole seconds', () => {
    const time = clock()
    const limits = new SourceRateLimits([{ name: 'slow', maxEventsPerSecond: 0.25 }], time.now)
    limits.take('slow', 1)
    expect(refusal(() => limits.take('slow', 1)).retryAfterSeconds).toBe(4)
    time.advance(3_900)
    expect(refusal(() => limits.take('slow', 1)).retryAfterSeconds).toBe(1)
  })

  it('defaults the burst to one second of events, at least one', () => {
    expect(defaultBurst(100)).toBe(100)
    expect(defaultBurst(2.5)).toBe(3)
    expect(defaultBurst(0.1)).toBe(1)
  })
})
