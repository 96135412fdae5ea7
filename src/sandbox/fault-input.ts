/**
 * Validation of the faults JSON (from `POST /_sandbox/faults`, CLI flags or code): every field is
 * checked and normalised here, once, so the request path only reads trusted values.
 */
import type { FaultRule, FaultsInput, LatencyFault, OutageFault, RateLimitFault, RuleMatch, ThrottleFault } from './types'

export class FaultsError extends Error {
  override name = 'FaultsError'
}

/** The normalised form of a `FaultsInput`: keys absent are left alone, null clears. */
export interface FaultsPatch {
  reset: boolean
  latency?: LatencyFault | null
  errors?: Record<string, number>
  throttle?: ThrottleFault | null
  rateLimit?: RateLimitFault | null
  outage?: Omit<OutageFault, 'endsAt'> | null
  dropRate?: number
  rules?: FaultRule[]
}

type Json = Record<string, unknown>

const KEYS = new Set(['reset', 'latency', 'errors', 'throttle', 'rateLimit', 'outage', 'dropRate', 'rules'])

function fail(field: string, expected: string, got: unknown): never {
  const shown = got === undefined ? 'nothing' : JSON.stringify(got)
  throw new FaultsError(`faults.${field}: expected ${expected}, got ${shown && shown.length > 60 ? shown.slice(0, 57) + '...' : shown}`)
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function checkKeys(value: Json, field: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new FaultsError(`faults.${field}: unknown key "${key}" (allowed: ${allowed.join(', ')})`)
  }
}

function number(value: unknown, field: string, { min = 0, max = Infinity, integer = false } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`
    fail(field, `${integer ? 'an integer' : 'a number'} ${range}`, value)
  }
  return value
}

const rate = (value: unknown, field: string) => number(value, field, { min: 0, max: 1 })
const status = (value: unknown, field: string, min = 400) => number(value, field, { min, max: 599, integer: true })
const seconds = (value: unknown, field: string) => number(value, field, { min: 0 })

function optionalRetryAfter(value: unknown, field: string, allowAuto: boolean): number | 'auto' | undefined {
  if (value === undefined || value === null) return undefined
  if (allowAuto && value === 'auto') return 'auto'
  return number(value, field, { min: 0, integer: true })
}

export function parseLatency(value: unknown): LatencyFault | null {
  if (value === null || value === 0) return null
  if (typeof value === 'number') return { distribution: 'fixed', ms: number(value, 'latency') }
  if (!isObject(value)) fail('latency', 'a number of ms or {"distribution": "fixed"|"uniform"|"normal"|"exponential", ...}', value)
  switch (value.distribution) {
    case 'fixed':
      checkKeys(value, 'latency', ['distribution', 'ms'])
      return { distribution: 'fixed', ms: number(value.ms, 'latency.ms') }
    case 'uniform': {
      checkKeys(value, 'latency', ['distribution', 'minMs', 'maxMs'])
      const minMs = number(value.minMs, 'latency.minMs')
      return { distribution: 'uniform', minMs, maxMs: number(value.maxMs, 'latency.maxMs', { min: minMs }) }
    }
    case 'normal': {
      checkKeys(value, 'latency', ['distribution', 'meanMs', 'stdDevMs', 'maxMs'])
      const latency: LatencyFault = { distribution: 'normal', meanMs: number(value.meanMs, 'latency.meanMs'), stdDevMs: number(value.stdDevMs, 'latency.stdDevMs') }
      if (value.maxMs !== undefined) latency.maxMs = number(value.maxMs, 'latency.maxMs')
      return latency
    }
    case 'exponential': {
      checkKeys(value, 'latency', ['distribution', 'meanMs', 'maxMs'])
      const latency: LatencyFault = { distribution: 'exponential', meanMs: number(value.meanMs, 'latency.meanMs') }
      if (value.maxMs !== undefined) latency.maxMs = number(value.maxMs, 'latency.maxMs')
      return latency
    }
    default:
      return fail('latency.distribution', '"fixed", "uniform", "normal" or "exponential"', value.distribution)
  }
}

export function parseErrors(value: unknown): Record<string, number> {
  if (value === null) return {}
  if (!isObject(value)) fail('errors', 'an object of status code to rate, e.g. {"500": 0.1, "503": 0.05}', value)
  const errors: Record<string, number> = {}
  let total = 0
  for (const [code, share] of Object.entries(value)) {
    if (!/^[45]\d\d$/.test(code)) fail(`errors["${code}"]`, 'a status code from 400 to 599 as the key', code)
    total += rate(share, `errors["${code}"]`)
    if (share !== 0) errors[code] = share as number
  }
  if (total > 1 + 1e-9) throw new FaultsError(`faults.errors: the rates add up to ${total}, more than 1`)
  return errors
}

function parseThrottle(value: unknown): ThrottleFault | null {
  if (value === null) return null
  if (!isObject(value)) fail('throttle', '{"rate": 0..1, "retryAfterSeconds"?: N}', value)
  checkKeys(value, 'throttle', ['rate', 'retryAfterSeconds'])
  const throttle: ThrottleFault = { rate: rate(value.rate, 'throttle.rate') }
  const retryAfter = optionalRetryAfter(value.retryAfterSeconds, 'throttle.retryAfterSeconds', false)
  if (retryAfter !== undefined) throttle.retryAfterSeconds = retryAfter as number
  return throttle
}

function parseRateLimit(value: unknown): RateLimitFault | null {
  if (value === null) return null
  if (!isObject(value)) fail('rateLimit', '{"perSecond": N, "burst"?: N, "retryAfterSeconds"?: N|"auto"}', value)
  checkKeys(value, 'rateLimit', ['perSecond', 'burst', 'retryAfterSeconds'])
  const perSecond = number(value.perSecond, 'rateLimit.perSecond', { min: Number.MIN_VALUE })
  const burst = value.burst === undefined ? Math.max(1, Math.ceil(perSecond)) : number(value.burst, 'rateLimit.burst', { min: 1, integer: true })
  const limit: RateLimitFault = { perSecond, burst }
  const retryAfter = optionalRetryAfter(value.retryAfterSeconds, 'rateLimit.retryAfterSeconds', true)
  if (retryAfter !== undefined) limit.retryAfterSeconds = retryAfter
  return limit
}

function parseOutage(value: unknown): Omit<OutageFault, 'endsAt'> | null {
  if (value === null) return null
  if (!isObject(value)) fail('outage', '{"seconds": N, "mode"?: "status"|"refuse", "status"?: 4xx|5xx, "retryAfterSeconds"?: N|"auto"}', value)
  checkKeys(value, 'outage', ['seconds', 'mode', 'status', 'retryAfterSeconds', 'endsAt'])
  const mode = value.mode ?? 'status'
  if (mode !== 'status' && mode !== 'refuse') fail('outage.mode', '"status" or "refuse"', mode)
  const outage: Omit<OutageFault, 'endsAt'> = {
    seconds: seconds(value.seconds, 'outage.seconds'),
    mode,
    status: value.status === undefined ? 503 : status(value.status, 'outage.status')
  }
  const retryAfter = optionalRetryAfter(value.retryAfterSeconds, 'outage.retryAfterSeconds', true)
  if (retryAfter !== undefined) outage.retryAfterSeconds = retryAfter
  return outage
}

function parseMatch(value: unknown, field: string): RuleMatch {
  if (value === undefined) return {}
  if (!isObject(value)) fail(field, '{"path"?: "/api/...", "body"?: {...}, "headers"?: {...}}', value)
  checkKeys(value, field, ['path', 'body', 'headers'])
  const match: RuleMatch = {}
  if (value.path !== undefined) {
    if (typeof value.path !== 'string' || !value.path.startsWith('/')) fail(`${field}.path`, 'a path starting with "/"', value.path)
    match.path = value.path
  }
  if (value.body !== undefined) {
    if (!isObject(value.body)) fail(`${field}.body`, 'an object of top-level body keys and values', value.body)
    match.body = value.body
  }
  if (value.headers !== undefined) {
    if (!isObject(value.headers)) fail(`${field}.headers`, 'an object of header names and string values', value.headers)
    const headers: Record<string, string> = {}
    for (const [name, headerValue] of Object.entries(value.headers)) {
      if (typeof headerValue !== 'string') fail(`${field}.headers["${name}"]`, 'a string', headerValue)
      headers[name.toLowerCase()] = headerValue
    }
    match.headers = headers
  }
  return match
}

function parseRule(value: unknown, index: number): FaultRule {
  const field = `rules[${index}]`
  if (!isObject(value)) fail(field, '{"match": {...}, "status"?: N, "drop"?: true, "count"?: N, "forSeconds"?: N}', value)
  // hits, endsAt and expired are the sandbox's own read-outs; accepted (so GET output can be posted back) and ignored.
  checkKeys(value, field, ['match', 'status', 'drop', 'count', 'forSeconds', 'retryAfterSeconds', 'message', 'hits', 'endsAt', 'expired'])
  const rule: FaultRule = { match: parseMatch(value.match, `${field}.match`) }
  if (value.drop !== undefined && typeof value.drop !== 'boolean') fail(`${field}.drop`, 'true or false', value.drop)
  if (value.drop) rule.drop = true
  else rule.status = value.status === undefined ? 503 : status(value.status, `${field}.status`, 200)
  if (value.count !== undefined) rule.count = number(value.count, `${field}.count`, { min: 1, integer: true })
  if (value.forSeconds !== undefined) rule.forSeconds = number(value.forSeconds, `${field}.forSeconds`, { min: 0 })
  const retryAfter = optionalRetryAfter(value.retryAfterSeconds, `${field}.retryAfterSeconds`, false)
  if (retryAfter !== undefined) rule.retryAfterSeconds = retryAfter as number
  if (value.message !== undefined) {
    if (typeof value.message !== 'string') fail(`${field}.message`, 'a string', value.message)
    rule.message = value.message
  }
  return rule
}

/** Validates a whole faults object; throws `FaultsError` naming the first bad field. */
export function parseFaultsInput(input: unknown): FaultsPatch {
  if (!isObject(input)) throw new FaultsError('faults: expected a JSON object, e.g. {"latency": 20, "errors": {"503": 0.1}}')
  for (const key of Object.keys(input)) {
    if (!KEYS.has(key)) throw new FaultsError(`faults: unknown key "${key}" (allowed: ${[...KEYS].join(', ')})`)
  }
  const raw = input as FaultsInput & Json
  if (raw.reset !== undefined && typeof raw.reset !== 'boolean') fail('reset', 'true or false', raw.reset)
  const patch: FaultsPatch = { reset: raw.reset === true }
  if (raw.latency !== undefined) patch.latency = parseLatency(raw.latency)
  if (raw.errors !== undefined) patch.errors = parseErrors(raw.errors)
  if (raw.throttle !== undefined) patch.throttle = parseThrottle(raw.throttle)
  if (raw.rateLimit !== undefined) patch.rateLimit = parseRateLimit(raw.rateLimit)
  if (raw.outage !== undefined) patch.outage = parseOutage(raw.outage)
  if (raw.dropRate !== undefined) patch.dropRate = raw.dropRate === null ? 0 : rate(raw.dropRate, 'dropRate')
  if (raw.rules !== undefined) {
    if (raw.rules !== null && !Array.isArray(raw.rules)) fail('rules', 'an array of rules', raw.rules)
    patch.rules = (raw.rules ?? []).map(parseRule)
  }
  return patch
}
