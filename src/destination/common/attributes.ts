/**
 * Turning Segment traits and properties into CSB's flat, snake_case attribute bodies: nested
 * objects flattened with "_", optional `custom_` prefix, ids as strings, timestamps in UTC.
 */
import { CUSTOM_PREFIX } from './constants'

export type Attributes = Record<string, unknown>

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * Flattens nested objects with "_" (`{ address: { city: 'X' } }` → `{ address_city: 'X' }`).
 * Arrays, strings, numbers, booleans and null are kept as they are. A key written at the top
 * level wins over a flattened key of the same name; an empty nested object adds nothing.
 */
export function flattenAttributes(input: Record<string, unknown> | undefined): Attributes {
  const direct: Attributes = {}
  const nested: Attributes = {}
  for (const [key, value] of Object.entries(input ?? {})) {
    if (value === undefined) continue
    if (isPlainObject(value)) collectNested(`${key}_`, value, nested)
    else direct[key] = value
  }
  return { ...nested, ...direct }
}

function collectNested(prefix: string, value: Record<string, unknown>, into: Attributes): void {
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined) continue
    const name = `${prefix}${key}`
    if (isPlainObject(child)) collectNested(`${name}_`, child, into)
    else if (!(name in into)) into[name] = child
  }
}

/** Prefixes every key that is neither standard nor already `custom_…` with `custom_`. */
export function prefixCustomKeys(attributes: Attributes, standardKeys: readonly string[]): Attributes {
  const out: Attributes = {}
  for (const [key, value] of Object.entries(attributes)) {
    const name = standardKeys.includes(key) || key.startsWith(CUSTOM_PREFIX) ? key : `${CUSTOM_PREFIX}${key}`
    if (!(name in out) || name === key) out[name] = value
  }
  return out
}

/** Drops `keys` from `attributes` (ids already sent as their own fields). */
export function omitKeys(attributes: Attributes, keys: readonly string[]): Attributes {
  const out: Attributes = {}
  for (const [key, value] of Object.entries(attributes)) if (!keys.includes(key)) out[key] = value
  return out
}

/** Ids go on the wire as strings: numbers and booleans are stringified; blank means absent. */
export function idString(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  return undefined
}

/**
 * An ISO 8601 UTC timestamp (`2024-01-08T10:00:00.000Z`) from an ISO string or epoch number
 * (milliseconds; numbers below 10^11 are taken as seconds). Undefined when absent or unreadable.
 */
export function isoTimestamp(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  let date: Date
  if (typeof value === 'number') date = new Date(value < 1e11 ? value * 1000 : value)
  else if (typeof value === 'string') date = new Date(/^\d+$/.test(value) ? isoTimestampNumber(value) : value)
  else return undefined
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}

function isoTimestampNumber(value: string): number {
  const n = Number(value)
  return n < 1e11 ? n * 1000 : n
}
