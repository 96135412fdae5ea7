import type { DeliverySamples, EventStatus, SegmentEvent, StoredEvent } from './types'

/** An events row as both engines select it (times in ms since the epoch; PostgreSQL bigints arrive as strings). */
export interface EventRow {
  id: number | string
  source: string
  message_id: string
  ordering_key: string
  type: string
  event: string
  received_at: number | string
  status: string
  attempts: number
  run_at: number | string
  first_failed_at: number | string | null
  last_error: string | null
  finished_at: number | string | null
  action: string | null
  last_status: number | null
  samples: string | null
  destination: string
}

export const EVENT_COLUMNS =
  'id, source, message_id, ordering_key, type, event, received_at, status, attempts, run_at, ' +
  'first_failed_at, last_error, finished_at, action, last_status, samples, destination'

const dateOrNull = (ms: number | string | null): Date | null => (ms === null ? null : new Date(Number(ms)))

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: String(row.id),
    destination: row.destination,
    source: row.source,
    messageId: row.message_id,
    orderingKey: row.ordering_key,
    type: row.type,
    event: JSON.parse(row.event) as SegmentEvent,
    receivedAt: new Date(Number(row.received_at)),
    status: row.status as EventStatus,
    attempts: Number(row.attempts),
    runAt: new Date(Number(row.run_at)),
    firstFailedAt: dateOrNull(row.first_failed_at),
    lastError: row.last_error,
    finishedAt: dateOrNull(row.finished_at),
    action: row.action,
    lastStatus: row.last_status === null ? null : Number(row.last_status),
    samples: row.samples === null ? null : (JSON.parse(row.samples) as DeliverySamples)
  }
}

/** Samples as stored: JSON text, or null. Unserialisable samples are dropped rather than failing the outcome. */
export function samplesText(samples: DeliverySamples | null | undefined): string | null {
  if (samples === undefined || samples === null) return null
  try {
    return JSON.stringify(samples) ?? null
  } catch {
    return JSON.stringify({ error: 'samples could not be serialised' })
  }
}

/** Store ids are decimal strings of positive integers; anything else matches no event. */
export function parseId(id: string): number | null {
  if (!/^[1-9][0-9]{0,15}$/.test(id)) return null
  const n = Number(id)
  return Number.isSafeInteger(n) ? n : null
}

/** Nearest-rank percentile: accepts a fraction (0.99) or a percentage (99). */
export function percentileFraction(p: number): number {
  if (!Number.isFinite(p) || p < 0 || p > 100) throw new RangeError(`percentile must be in [0, 1] or (1, 100], got ${p}`)
  return p > 1 ? p / 100 : p
}

export const MINUTE_MS = 60_000

/**
 * Text as both databases can store and give back unchanged: NUL becomes U+FFFD (PostgreSQL text
 * cannot hold it, SQLite's reads stop at it) and lone surrogates become U+FFFD (what UTF-8
 * encoding makes of them anyway, done up front so equal values compare equal in JS too).
 */
export function cleanText(value: string): string {
  // String.prototype.toWellFormed: Node 20+, newer than the ES2022 lib this project compiles against.
  const wellFormed = (value as string & { toWellFormed(): string }).toWellFormed()
  return wellFormed.includes('\u0000') ? wellFormed.replace(/\u0000/g, '\uFFFD') : wellFormed
}

/** Lease options checked once for both engines: a caller's arithmetic slip must not reach SQL. */
export function checkLease(limit: number, leaseMs: number): { limit: number; leaseMs: number } {
  if (!Number.isFinite(limit) || !Number.isFinite(leaseMs)) throw new RangeError(`lease needs finite limit and leaseMs, got ${limit} and ${leaseMs}`)
  return { limit: Math.max(0, Math.floor(limit)), leaseMs: Math.max(0, leaseMs) }
}

/** A receivedAt that is not a valid Date is recorded as the time of storing. */
export function receivedAtMs(receivedAt: Date, nowMs: number): number {
  const ms = receivedAt instanceof Date ? receivedAt.getTime() : Number.NaN
  return Number.isFinite(ms) ? ms : nowMs
}

export function cleanOptional(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : cleanText(value)
}

/** Rows `prune` deletes per transaction, so a large prune never blocks other work for long. */
export const PRUNE_CHUNK = 5000

/** Stats buckets are whole minutes (the counters' grain), at least one. */
export function bucketWidthMs(bucketSeconds: number): number {
  const minutes = Math.max(1, Math.round((Number.isFinite(bucketSeconds) ? bucketSeconds : 60) / 60))
  return minutes * MINUTE_MS
}

/** Totals buckets kept per status so `counts()` never scans the events table. */
export type TotalBucket = 'new' | 'retrying' | 'delivered' | 'dead' | 'skipped'
