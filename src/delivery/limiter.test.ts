import { describe, expect, it } from 'vitest'
import { AdaptiveLimiter, TokenBucket, type Ticket } from './limiter'

/** docs/delivery.md: congestion multiplies the limit by 0.7, at most once per round. */
const DOCUMENTED_DECREASE = 0.7

const settings = { minConcurrency: 1, maxConcurrency: 64, initialConcurrency: 16, adaptive: true }

function fill(l: AdaptiveLimiter): Ticket[] {
  const tickets: Ticket[] = []
  for (let t = l.tryAcquire(); t; t = l.tryAcquire()) tickets.push(t)
  return tickets
}

describe('AdaptiveLimiter (AIMD)', () => {
  it('hands out at most `limit` slots at once', () => {
    const l = new AdaptiveLimiter(settings)
    expect(fill(l)).toHaveLength(16)
    expect(l.tryAcquire()).toBeNull()
  })

  it('slow start: doubles per busy round until the first congestion signal', () => {
    const l = new AdaptiveLimiter(settings)
    for (const t of fill(l)) l.release(t, 'ok')
    expect(l.limit).toBe(32)
    for (const t of fill(l)) l.release(t, 'ok')
    expect(l.limit).toBe(64)
  })

  it('after a congestion signal grows by about one per round of successes while busy, up to the max', () => {
    const l = new AdaptiveLimiter(settings)
    const first = fill(l)
    l.release(first[0], 'congestion')
    for (const t of first.slice(1)) l.release(t, 'neutral')
    expect(l.limit).toBe(11)
    for (let round = 0; round < 10; round++) for (const t of fill(l)) l.release(t, 'ok')
    expect(l.limit).toBeGreaterThanOrEqual(19)
    expect(l.limit).toBeLessThanOrEqual(22)
    for (let round = 0; round < 800; round++) for (const t of fill(l)) l.release(t, 'ok')
    expect(l.limit).toBe(64)
  })

  it('does not grow while idle (successes without a full limiter)', () => {
    const l = new AdaptiveLimiter(settings)
    for (let i = 0; i < 1000; i++) l.release(l.tryAcquire() as Ticket, 'ok')
    expect(l.limit).toBe(16)
  })

  it('shrinks multiplicatively on congestion, once per round', () => {
    const changes: number[] = []
    const l = new AdaptiveLimiter(settings, (n) => changes.push(n))
    const tickets = fill(l)
    for (const t of tickets) l.release(t, 'congestion')
    expect(l.limit).toBe(Math.floor(16 * DOCUMENTED_DECREASE))
    expect(changes).toEqual([Math.floor(16 * DOCUMENTED_DECREASE)])
    for (const t of fill(l)) l.release(t, 'congestion')
    expect(l.limit).toBe(Math.floor(16 * DOCUMENTED_DECREASE * DOCUMENTED_DECREASE))
  })

  it('never goes below the minimum', () => {
    const l = new AdaptiveLimiter({ ...settings, minConcurrency: 3 })
    for (let i = 0; i < 50; i++) for (const t of fill(l)) l.release(t, 'congestion')
    expect(l.limit).toBe(3)
  })

  it('settles near what the server accepts: an AIMD saw-tooth around capacity', () => {
    const capacity = 20
    const l = new AdaptiveLimiter(settings)
    const limits: number[] = []
    for (let round = 0; round < 400; round++) {
      const tickets = fill(l)
      tickets.forEach((t, i) => l.release(t, i < capacity ? 'ok' : 'congestion'))
      limits.push(l.limit)
    }
    const tail = limits.slice(200)
    expect(Math.max(...tail)).toBeLessThanOrEqual(capacity + 2)
    expect(Math.min(...tail)).toBeGreaterThanOrEqual(Math.floor(capacity * DOCUMENTED_DECREASE) - 1)
  })

  it('is fixed at the max when not adaptive', () => {
    const l = new AdaptiveLimiter({ ...settings, adaptive: false })
    expect(l.limit).toBe(64)
    for (const t of fill(l)) l.release(t, 'congestion')
    expect(l.limit).toBe(64)
  })

  it('holds every new request during a pause', () => {
    const l = new AdaptiveLimiter(settings)
    l.pauseUntil(10_000)
    expect(l.tryAcquire(9_999)).toBeNull()
    expect(l.pausedFor(9_000)).toBe(1000)
    expect(l.tryAcquire(10_000)).not.toBeNull()
  })

  it('a request that started before the current pause cannot extend it', () => {
    const l = new AdaptiveLimiter(settings)
    const early = l.tryAcquire(0) as Ticket
    const alsoEarly = l.tryAcquire(0) as Ticket
    l.pauseUntil(1000, early)
    l.pauseUntil(5000, alsoEarly)
    expect(l.pausedFor(0)).toBe(1000)
    const late = l.tryAcquire(1000) as Ticket
    l.pauseUntil(3000, late)
    expect(l.pausedFor(1000)).toBe(2000)
  })
})

describe('TokenBucket', () => {
  it('allows at most the rate per second over time', () => {
    const bucket = new TokenBucket(100, 0)
    let taken = 0
    for (let t = 0; t < 1000; t++) while (bucket.take(t) === 0) taken++
    expect(taken).toBeGreaterThanOrEqual(99)
    expect(taken).toBeLessThanOrEqual(111)
  })
  it('says how long to wait for the next token', () => {
    const bucket = new TokenBucket(1, 0)
    expect(bucket.take(0)).toBe(0)
    expect(bucket.take(0)).toBe(1000)
    expect(bucket.take(600)).toBe(400)
  })
})
