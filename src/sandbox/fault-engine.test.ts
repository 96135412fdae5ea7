import { describe, expect, it } from 'vitest'
import type { ParsedBody } from './csb-checks'
import { FaultEngine, seededRandom, type ActiveOutage } from './fault-engine'
import { FaultsError, parseFaultsInput } from './fault-input'

const BODY: ParsedBody = { ok: true, value: { account_id: 'a', user_id: 'u1' } }

function engine(seed = 1) {
  let now = 1_000_000
  const outages: Array<[ActiveOutage | null, ActiveOutage | null]> = []
  const e = new FaultEngine(seededRandom(seed), (next, prev) => outages.push([next, prev]), () => now)
  return { e, outages, advance: (ms: number) => (now += ms) }
}

function statuses(e: FaultEngine, n: number, body: ParsedBody = BODY): Array<number | 'drop' | 'pass'> {
  return Array.from({ length: n }, () => {
    const d = e.decide('/api/v1_1/user', {}, body)
    return d === null ? 'pass' : d.status ?? 'drop'
  })
}

describe('latency', () => {
  it('is 0 without a latency fault and the fixed value with one (a plain number is shorthand)', () => {
    const { e } = engine()
    expect(e.latencyMs()).toBe(0)
    e.set({ latency: 25 })
    expect(e.snapshot().latency).toEqual({ distribution: 'fixed', ms: 25 })
    expect(e.latencyMs()).toBe(25)
  })

  it('samples uniform latency within its bounds', () => {
    const { e } = engine()
    e.set({ latency: { distribution: 'uniform', minMs: 10, maxMs: 30 } })
    const samples = Array.from({ length: 2000 }, () => e.latencyMs())
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(10)
    expect(Math.max(...samples)).toBeLessThanOrEqual(30)
    expect(new Set(samples).size).toBeGreaterThan(10)
  })

  it('samples normal latency around its mean, never below 0 and never above maxMs', () => {
    const { e } = engine()
    e.set({ latency: { distribution: 'normal', meanMs: 100, stdDevMs: 20, maxMs: 150 } })
    const samples = Array.from({ length: 5000 }, () => e.latencyMs())
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length
    expect(mean).toBeGreaterThan(95)
    expect(mean).toBeLessThan(105)
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...samples)).toBeLessThanOrEqual(150)
  })

  it('samples exponential latency with its mean', () => {
    const { e } = engine()
    e.set({ latency: { distribution: 'exponential', meanMs: 50 } })
    const samples = Array.from({ length: 5000 }, () => e.latencyMs())
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length
    expect(mean).toBeGreaterThan(45)
    expect(mean).toBeLessThan(55)
  })
})

describe('error rates', () => {
  it('fails everything at 1.0 and nothing at 0.0', () => {
    const { e } = engine()
    e.set({ errors: { '500': 1 } })
    expect(new Set(statuses(e, 200))).toEqual(new Set([500]))
    e.set({ errors: { '500': 0 } })
    expect(new Set(statuses(e, 200))).toEqual(new Set(['pass']))
  })

  it('splits errors by status in proportion, within a statistical bound', () => {
    const { e } = engine(7)
    e.set({ errors: { '500': 0.1, '503': 0.05 } })
    const got = statuses(e, 20_000)
    const share = (s: number | string) => got.filter((x) => x === s).length / got.length
    // 20,000 draws: the standard error of a 10% share is 0.2%, so ±1% is five of them.
    expect(share(500)).toBeGreaterThan(0.09)
    expect(share(500)).toBeLessThan(0.11)
    expect(share(503)).toBeGreaterThan(0.04)
    expect(share(503)).toBeLessThan(0.06)
  })

  it('rejects shares adding up to more than 1 and non-error statuses', () => {
    expect(() => parseFaultsInput({ errors: { '500': 0.7, '503': 0.5 } })).toThrow(/add up to 1.2, more than 1/)
    expect(() => parseFaultsInput({ errors: { '200': 0.5 } })).toThrow(/errors\["200"\]: expected a status code from 400 to 599/)
  })
})

describe('token bucket', () => {
  it('lets the burst through, then 429s, then refills at perSecond', () => {
    const { e, advance } = engine()
    e.set({ rateLimit: { perSecond: 2, burst: 3, retryAfterSeconds: 'auto' } })
    expect(statuses(e, 5)).toEqual(['pass', 'pass', 'pass', 429, 429])
    const limited = e.decide('/api/v1_1/user', {}, BODY)
    expect(limited?.kind).toBe('rateLimit')
    expect(limited?.retryAfterSeconds).toBe(1)
    advance(500) // one token at 2/s
    expect(statuses(e, 2)).toEqual(['pass', 429])
    advance(10_000) // refills to the burst, no further
    expect(statuses(e, 4)).toEqual(['pass', 'pass', 'pass', 429])
  })

  it('sends no Retry-After unless configured; burst defaults to perSecond', () => {
    const { e } = engine()
    e.set({ rateLimit: { perSecond: 2 } })
    expect(e.snapshot().rateLimit).toEqual({ perSecond: 2, burst: 2 })
    expect(statuses(e, 3)).toEqual(['pass', 'pass', 429])
    expect(e.decide('/api/v1_1/user', {}, BODY)?.retryAfterSeconds).toBeUndefined()
  })
})

describe('outage', () => {
  it('answers the chosen status until it ends, with Retry-After "auto" as the seconds left', () => {
    const { e, advance, outages } = engine()
    e.set({ outage: { seconds: 10, status: 502, retryAfterSeconds: 'auto' } })
    expect(outages).toHaveLength(1)
    const during = e.decide('/api/v1_1/user', {}, BODY)
    expect(during).toMatchObject({ kind: 'outage', status: 502, retryAfterSeconds: 10 })
    advance(4_500)
    expect(e.decide('/api/v1_1/user', {}, BODY)?.retryAfterSeconds).toBe(6)
    expect(e.snapshot().outage).toMatchObject({ mode: 'status', status: 502, seconds: 10 })
    advance(5_500)
    expect(e.decide('/api/v1_1/user', {}, BODY)).toBeNull()
    expect(e.snapshot().outage).toBeNull()
    expect(outages[1]).toEqual([null, expect.objectContaining({ status: 502 })])
  })

  it('tells the server when a refuse-mode outage starts and when it is ended early', () => {
    const { e, outages } = engine()
    e.set({ outage: { seconds: 5, mode: 'refuse' } })
    expect(outages[0][0]).toMatchObject({ mode: 'refuse', status: 503 })
    e.set({ outage: null })
    expect(outages[1][0]).toBeNull()
    expect(outages[1][1]).toMatchObject({ mode: 'refuse' })
  })
})

describe('rules', () => {
  const u1: ParsedBody = { ok: true, value: { account_id: 'a', user_id: 'u1' } }
  const u2: ParsedBody = { ok: true, value: { account_id: 'a', user_id: 'u2' } }

  it('fails only matching requests, for count matches', () => {
    const { e } = engine()
    e.set({ rules: [{ match: { path: '/api/v1_1/user', body: { user_id: 'u1' } }, status: 503, count: 2, retryAfterSeconds: 3 }] })
    expect(statuses(e, 1, u2)).toEqual(['pass'])
    expect(e.decide('/api/v1_1/account', {}, u1)).toBeNull()
    expect(e.decide('/api/v1_1/user', {}, u1)).toMatchObject({ kind: 'rule', status: 503, retryAfterSeconds: 3 })
    expect(statuses(e, 3, u1)).toEqual([503, 'pass', 'pass'])
    expect(e.snapshot().rules[0]).toMatchObject({ hits: 2, expired: true })
  })

  it('fails matching requests for forSeconds from the first match', () => {
    const { e, advance } = engine()
    e.set({ rules: [{ match: { body: { user_id: 'u1' } }, status: 500, forSeconds: 5 }] })
    advance(60_000) // the clock starts at the first match, not when the rule is set
    expect(statuses(e, 2, u1)).toEqual([500, 500])
    advance(4_999)
    expect(statuses(e, 1, u1)).toEqual([500])
    expect(e.snapshot().rules[0]).toMatchObject({ hits: 3, expired: false })
    advance(1)
    expect(statuses(e, 1, u1)).toEqual(['pass'])
    expect(e.snapshot().rules[0].expired).toBe(true)
  })

  it('matches headers and nested body values, can drop, and wins over global faults', () => {
    const { e } = engine()
    e.set({ errors: { '500': 1 }, rules: [{ match: { headers: { 'X-Test': 'yes' }, body: { traits: { plan: 'pro' } } }, drop: true }] })
    const pro: ParsedBody = { ok: true, value: { traits: { plan: 'pro' } } }
    expect(e.decide('/api/v1_1/user', { 'x-test': 'yes' }, pro)).toEqual({ kind: 'rule' })
    expect(e.decide('/api/v1_1/user', {}, pro)?.status).toBe(500)
    expect(e.decide('/api/v1_1/user', { 'x-test': 'yes' }, { ok: false, text: '', error: 'empty body' })?.status).toBe(500)
  })
})

describe('set / merge / reset', () => {
  it('merges by top-level key, null clears a key, reset clears everything first', () => {
    const { e } = engine()
    e.set({ latency: 20, errors: { '500': 0.1 } })
    e.set({ throttle: { rate: 0.5 } })
    expect(e.snapshot()).toMatchObject({ latency: { ms: 20 }, errors: { '500': 0.1 }, throttle: { rate: 0.5 } })
    e.set({ errors: { '503': 0.2 } })
    expect(e.snapshot().errors).toEqual({ '503': 0.2 })
    e.set({ latency: null, dropRate: 0.1 })
    expect(e.snapshot()).toMatchObject({ latency: null, dropRate: 0.1 })
    e.set({ reset: true, latency: 5 })
    expect(e.snapshot()).toEqual({ latency: { distribution: 'fixed', ms: 5 }, errors: {}, throttle: null, rateLimit: null, outage: null, dropRate: 0, rules: [] })
  })

  it('changes nothing when any part is invalid, and names the field', () => {
    const { e } = engine()
    e.set({ latency: 20 })
    expect(() => e.set({ latency: 30, throttle: { rate: 'often' } })).toThrow(FaultsError)
    expect(() => e.set({ latency: 30, throttle: { rate: 'often' } })).toThrow('faults.throttle.rate: expected a number from 0 to 1, got "often"')
    expect(e.snapshot().latency).toEqual({ distribution: 'fixed', ms: 20 })
    expect(() => e.set({ latenc: 5 })).toThrow(/unknown key "latenc"/)
    expect(() => e.set({ latency: { distribution: 'gamma' } })).toThrow(/latency.distribution: expected "fixed", "uniform", "normal" or "exponential"/)
    expect(() => e.set({ outage: { seconds: 1, mode: 'sleep' } })).toThrow(/outage.mode/)
    expect(() => e.set({ rules: [{ match: { path: 'user' } }] })).toThrow(/rules\[0\].match.path: expected a path starting with "\/"/)
    expect(() => e.set([])).toThrow(/expected a JSON object/)
  })

  it('throttles a share of requests with 429, with Retry-After only when set', () => {
    const { e } = engine()
    e.set({ throttle: { rate: 1 } })
    expect(e.decide('/api/v1_1/user', {}, BODY)).toMatchObject({ kind: 'throttle', status: 429 })
    expect(e.decide('/api/v1_1/user', {}, BODY)?.retryAfterSeconds).toBeUndefined()
    e.set({ throttle: { rate: 1, retryAfterSeconds: 7 } })
    expect(e.decide('/api/v1_1/user', {}, BODY)?.retryAfterSeconds).toBe(7)
  })

  it('drops a share of connections', () => {
    const { e } = engine(3)
    e.set({ dropRate: 0.3 })
    const got = statuses(e, 10_000)
    const dropped = got.filter((x) => x === 'drop').length / got.length
    expect(dropped).toBeGreaterThan(0.28)
    expect(dropped).toBeLessThan(0.32)
  })
})
