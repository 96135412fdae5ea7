/**
 * The live fault set and the per-request dice: which injected fault, if any, answers a request,
 * and how long it waits first. Every decision is O(1) in the number of requests seen (rules are
 * tried in order, so O(rules)).
 */
import type { ParsedBody } from './csb-checks'
import { parseFaultsInput } from './fault-input'
import type { FaultKind, FaultRule, Faults, LatencyFault, OutageFault, RateLimitFault } from './types'

export interface Injected {
  kind: FaultKind
  /** Absent when the connection is to be dropped. */
  status?: number
  body?: { success: false; message: string }
  retryAfterSeconds?: number
}

export interface ActiveOutage extends Omit<OutageFault, 'endsAt'> {
  endsAtMs: number
}

interface RuleState {
  rule: FaultRule
  hits: number
  firstMatchMs?: number
}

/** Called when an outage starts, is replaced or ends (by time, by `outage: null`, or by a reset). */
export type OutageListener = (next: ActiveOutage | null, previous: ActiveOutage | null) => void

function emptyFaults(): Faults {
  return { latency: null, errors: {}, throttle: null, rateLimit: null, outage: null, dropRate: 0, rules: [] }
}

/** A small seeded generator (mulberry32), so a seeded sandbox rolls the same dice every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const aKeys = Object.keys(a)
  const bKeys = Object.keys(b)
  if (aKeys.length !== bKeys.length) return false
  return aKeys.every((key) => deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
}

function injected(kind: FaultKind, status: number, message: string, retryAfterSeconds?: number): Injected {
  const answer: Injected = { kind, status, body: { success: false, message } }
  if (retryAfterSeconds !== undefined) answer.retryAfterSeconds = retryAfterSeconds
  return answer
}

export class FaultEngine {
  private current: Faults = emptyFaults()
  private errorTable: Array<[number, number]> = []
  private rules: RuleState[] = []
  private outage: ActiveOutage | null = null
  private bucket = { tokens: 0, refilledAtMs: 0 }

  constructor(
    private readonly random: () => number,
    private readonly onOutage: OutageListener,
    private readonly now: () => number = Date.now
  ) {}

  /** Validates `input` as a whole, then merges it in; throws `FaultsError` and changes nothing when invalid. */
  set(input: unknown): void {
    const patch = parseFaultsInput(input)
    const previousOutage = this.outage
    let outageChanged = false
    if (patch.reset) {
      this.current = emptyFaults()
      this.errorTable = []
      this.rules = []
      if (this.outage) {
        this.outage = null
        outageChanged = true
      }
    }
    if (patch.latency !== undefined) this.current.latency = patch.latency
    if (patch.errors !== undefined) {
      this.current.errors = patch.errors
      this.errorTable = Object.entries(patch.errors).map(([code, share]) => [Number(code), share])
    }
    if (patch.throttle !== undefined) this.current.throttle = patch.throttle
    if (patch.rateLimit !== undefined) {
      this.current.rateLimit = patch.rateLimit
      if (patch.rateLimit) this.bucket = { tokens: patch.rateLimit.burst, refilledAtMs: this.now() }
    }
    if (patch.dropRate !== undefined) this.current.dropRate = patch.dropRate
    if (patch.rules !== undefined) this.rules = patch.rules.map((rule) => ({ rule, hits: 0 }))
    if (patch.outage !== undefined) {
      this.outage = patch.outage ? { ...patch.outage, endsAtMs: this.now() + patch.outage.seconds * 1000 } : null
      outageChanged = true
    }
    if (outageChanged && (this.outage || previousOutage)) this.onOutage(this.outage, previousOutage)
  }

  clear(): void {
    this.set({ reset: true })
  }

  /** Ends the current outage (the server calls this when a refuse-mode outage's time is up). */
  endOutage(): void {
    const previous = this.outage
    if (!previous) return
    this.outage = null
    this.onOutage(null, previous)
  }

  activeOutage(): ActiveOutage | null {
    if (this.outage && this.outage.mode === 'status' && this.now() >= this.outage.endsAtMs) this.endOutage()
    return this.outage
  }

  snapshot(): Faults {
    const outage = this.activeOutage()
    const faults: Faults = structuredClone({ ...this.current, outage: null, rules: [] })
    if (outage) {
      const { endsAtMs, ...rest } = outage
      faults.outage = { ...rest, endsAt: new Date(endsAtMs).toISOString() }
    }
    faults.rules = this.rules.map((state) => {
      const rule: FaultRule = { ...structuredClone(state.rule), hits: state.hits, expired: this.ruleExpired(state) }
      if (state.firstMatchMs !== undefined && state.rule.forSeconds !== undefined) {
        rule.endsAt = new Date(state.firstMatchMs + state.rule.forSeconds * 1000).toISOString()
      }
      return rule
    })
    return faults
  }

  latencyMs(): number {
    const latency = this.current.latency
    return latency ? Math.max(0, Math.round(this.sample(latency))) : 0
  }

  private sample(latency: LatencyFault): number {
    switch (latency.distribution) {
      case 'fixed':
        return latency.ms
      case 'uniform':
        return latency.minMs + this.random() * (latency.maxMs - latency.minMs)
      case 'normal': {
        // Box-Muller; 1 - random() keeps the logarithm's argument above 0.
        const z = Math.sqrt(-2 * Math.log(1 - this.random())) * Math.cos(2 * Math.PI * this.random())
        return Math.min(latency.maxMs ?? Infinity, latency.meanMs + z * latency.stdDevMs)
      }
      case 'exponential':
        return Math.min(latency.maxMs ?? Infinity, -latency.meanMs * Math.log(1 - this.random()))
    }
  }

  /** The injected answer for a request to a CSB endpoint, or null to let CSB's own checks answer. */
  decide(path: string, headers: Record<string, string>, body: ParsedBody): Injected | null {
    const outage = this.activeOutage()
    if (outage) {
      const left = Math.max(0, Math.ceil((outage.endsAtMs - this.now()) / 1000))
      const retryAfter = outage.retryAfterSeconds === 'auto' ? left : outage.retryAfterSeconds
      return injected('outage', outage.status, `service unavailable (injected outage, ${left} s left)`, retryAfter)
    }
    if (this.rules.length > 0) {
      const rule = this.matchRule(path, headers, body)
      if (rule) {
        if (rule.drop) return { kind: 'rule' }
        return injected('rule', rule.status ?? 503, rule.message ?? `injected by rule: ${rule.status ?? 503}`, rule.retryAfterSeconds)
      }
    }
    const faults = this.current
    if (faults.dropRate > 0 && this.random() < faults.dropRate) return { kind: 'drop' }
    if (faults.rateLimit) {
      const wait = this.takeToken(faults.rateLimit)
      if (wait > 0) {
        const retryAfter = faults.rateLimit.retryAfterSeconds === 'auto' ? Math.ceil(wait) : faults.rateLimit.retryAfterSeconds
        return injected('rateLimit', 429, `rate limit exceeded (${faults.rateLimit.perSecond}/s, burst ${faults.rateLimit.burst})`, retryAfter)
      }
    }
    if (faults.throttle && faults.throttle.rate > 0 && this.random() < faults.throttle.rate) {
      return injected('throttle', 429, 'too many requests (injected throttle)', faults.throttle.retryAfterSeconds)
    }
    if (this.errorTable.length > 0) {
      let roll = this.random()
      for (const [code, share] of this.errorTable) {
        if (roll < share) return injected('error', code, `injected error ${code}`)
        roll -= share
      }
    }
    return null
  }

  /** Takes a token; returns 0 when one was free, else the seconds until the next one. */
  private takeToken(limit: RateLimitFault): number {
    const now = this.now()
    const bucket = this.bucket
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.refilledAtMs) / 1000) * limit.perSecond)
    bucket.refilledAtMs = now
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return (1 - bucket.tokens) / limit.perSecond
  }

  private ruleExpired(state: RuleState): boolean {
    const { count, forSeconds } = state.rule
    if (count !== undefined && state.hits >= count) return true
    return forSeconds !== undefined && state.firstMatchMs !== undefined && this.now() >= state.firstMatchMs + forSeconds * 1000
  }

  private matchRule(path: string, headers: Record<string, string>, body: ParsedBody): FaultRule | null {
    for (const state of this.rules) {
      const { match } = state.rule
      if (match.path !== undefined && match.path !== path) continue
      if (this.ruleExpired(state)) continue
      if (match.headers && !Object.entries(match.headers).every(([name, value]) => headers[name] === value)) continue
      if (match.body) {
        const value = body.ok ? body.value : undefined
        if (value === null || typeof value !== 'object' || Array.isArray(value)) continue
        const record = value as Record<string, unknown>
        if (!Object.entries(match.body).every(([key, expected]) => deepEqual(record[key], expected))) continue
      }
      if (state.firstMatchMs === undefined) state.firstMatchMs = this.now()
      state.hits++
      return state.rule
    }
    return null
  }
}
