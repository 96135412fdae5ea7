/**
 * What makes a Segment event acceptable. Each check returns the problem as a sentence the
 * sender can act on, or undefined. Input is JSON already parsed, so only JSON types occur.
 */
export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const
export type EventType = (typeof EVENT_TYPES)[number]

/** Deeper nesting than this is refused: no real event needs it, and it is a cheap attack. */
export const MAX_NESTING_DEPTH = 64
/** Longest accepted messageId (dedupe key). */
export const MAX_MESSAGE_ID_LENGTH = 256

const OBJECT_FIELDS = ['context', 'integrations', 'properties', 'traits'] as const

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value)
}

/** A string, or a finite number (some SDKs send numeric ids); empty counts as absent. */
export function isId(value: unknown): boolean {
  return (typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value))
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** The decimal digit at `i`, or NaN (which any arithmetic keeps, and every comparison refuses). */
function digit(text: string, i: number): number {
  const d = text.charCodeAt(i) - 48
  return d >= 0 && d <= 9 ? d : Number.NaN
}

/**
 * True when `text` is, character by character, a UTC time in the form SDKs send
 * (`YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`) naming a real calendar day and time: such a string is
 * always a valid date. False means "not certain", never "invalid": the caller asks Date.parse.
 * About five times faster than Date.parse, and a batch carries one timestamp per event.
 */
export function isCanonicalUtc(text: string): boolean {
  const n = text.length
  if (n < 20 || n > 30 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84) return false
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || text.charCodeAt(n - 1) !== 90) return false
  const year = digit(text, 0) * 1000 + digit(text, 1) * 100 + digit(text, 2) * 10 + digit(text, 3)
  const month = digit(text, 5) * 10 + digit(text, 6)
  const day = digit(text, 8) * 10 + digit(text, 9)
  const hour = digit(text, 11) * 10 + digit(text, 12)
  const minute = digit(text, 14) * 10 + digit(text, 15)
  const second = digit(text, 17) * 10 + digit(text, 18)
  if (!(year >= 0 && month >= 1 && month <= 12 && day >= 1 && hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59)) return false
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) return false
  if (n === 20) return true
  if (text.charCodeAt(19) !== 46 || n === 21) return false
  for (let i = 20; i < n - 1; i++) if (Number.isNaN(digit(text, i))) return false
  return true
}

export function isValidDate(value: unknown): boolean {
  if (typeof value === 'string') return isCanonicalUtc(value) || (value !== '' && !Number.isNaN(Date.parse(value)))
  if (typeof value === 'number') return Number.isFinite(value) && !Number.isNaN(new Date(value).getTime())
  return false
}

/**
 * Finds nesting deeper than MAX_NESTING_DEPTH and `__proto__` / `constructor.prototype`
 * keys, which are harmless as JSON but pollute prototypes in naive deep merges downstream.
 * The recursion stops at MAX_NESTING_DEPTH, so hostile nesting cannot overflow the stack;
 * the path is built only for the problem found.
 */
export function structuralProblem(root: unknown): string | undefined {
  const found = walk(root, 0)
  if (!found) return undefined
  const where = found.path.length ? found.path.reverse().join('').replace(/^\./, '') : 'the top'
  return `${found.problem} (at ${where})`
}

interface Found {
  problem: string
  /** Path segments, innermost first. */
  path: string[]
}

/** Walks objects and arrays only: leaves (most values) are skipped without a call. */
function walk(value: unknown, depth: number): Found | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  if (depth >= MAX_NESTING_DEPTH) return { problem: `nested deeper than ${MAX_NESTING_DEPTH} levels`, path: [] }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      if (typeof item !== 'object' || item === null) continue
      const found = walk(item, depth + 1)
      if (found) return (found.path.push(`[${i}]`), found)
    }
    return undefined
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    if (key === '__proto__') return { problem: 'key "__proto__" is not accepted', path: [] }
    const item = (value as Record<string, unknown>)[key]
    if (typeof item !== 'object' || item === null) continue
    if (key === 'constructor' && Object.hasOwn(item, 'prototype')) {
      return { problem: 'key "constructor.prototype" is not accepted', path: [] }
    }
    const found = walk(item, depth + 1)
    if (found) return (found.path.push(`.${key}`), found)
  }
  return undefined
}

/**
 * The problem with one event (type already resolved: one of EVENT_TYPES, or "delete" from a
 * Webhooks destination), or undefined when it is acceptable.
 */
export function eventProblem(event: Record<string, unknown>, type: EventType | 'delete'): string | undefined {
  // A deletion request deletes a user by userId (regulations); an anonymousId names no one to delete.
  if (type === 'delete' && !isId(event.userId)) return 'delete event has no "userId": the relay deletes users by their userId; send the user\'s userId'
  if (!isId(event.userId) && !isId(event.anonymousId)) {
    return `${type} event has neither "userId" nor "anonymousId"`
  }
  for (const field of ['userId', 'anonymousId'] as const) {
    const value = event[field]
    if (value !== undefined && value !== null && value !== '' && !isId(value)) return `"${field}" must be a string`
  }
  if (type === 'track' && (typeof event.event !== 'string' || event.event === '')) return 'track event has no "event" name'
  if (type === 'group' && !isId(event.groupId)) return 'group event has no "groupId"'
  if (type === 'alias' && !isId(event.previousId)) return 'alias event has no "previousId"'
  if (event.messageId !== undefined && event.messageId !== null) {
    if (!isId(event.messageId)) return '"messageId" must be a non-empty string'
    if (String(event.messageId).length > MAX_MESSAGE_ID_LENGTH) return `"messageId" is longer than ${MAX_MESSAGE_ID_LENGTH} characters`
  }
  for (const field of OBJECT_FIELDS) {
    const value = event[field]
    if (value !== undefined && value !== null && !isPlainObject(value)) return `"${field}" must be an object`
  }
  // A malformed timestamp or sentAt is no refusal: normalisation replaces it (repairs.ts).
  return structuralProblem(event)
}
