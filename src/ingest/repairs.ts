/**
 * What ingest repairs instead of refusing, as Segment's tracking API does (docs/ingest.md,
 * "Accepted as Segment accepts them"): a malformed `timestamp`, `sentAt` or (on /v1/webhook)
 * `receivedAt` is replaced by the time the relay received the event, and a junk id
 * (junk-ids.ts) is removed. What was sent is kept beside, in the event's `context.csbRelay`
 * (RELAY_NOTES), and every repair is counted for /metrics.
 *
 * Counting happens when a request is checked (on the request thread or a parse thread), which
 * every request goes through once; the repair itself happens when its events are normalised,
 * which for an opaque batch is later, in the store (opaque.ts).
 */
import { junkIdsOf } from './junk-ids'
import { isPlainObject, isValidDate } from './validate'

/** The key of `context` under which ingest keeps what it replaced or removed. */
export const RELAY_NOTES = 'csbRelay'

/** What was sent, where ingest replaced or removed it. */
export interface RelayNotes {
  invalidTimestamp?: unknown
  invalidSentAt?: unknown
  invalidReceivedAt?: unknown
  /** Junk ids removed, by path: `{"userId": "undefined"}`. */
  junkIds?: Record<string, string>
}

/** Repairs of a request's events, counted by field; sent back from parse threads as is. */
export interface Repairs {
  /** Malformed times replaced, by field: timestamp, sentAt, receivedAt. */
  invalidTimes: Record<string, number>
  /** Junk ids removed, by path: userId, traits.user_id... */
  junkIds: Record<string, number>
}

export const noRepairs = (): Repairs => ({ invalidTimes: {}, junkIds: {} })

const present = (value: unknown) => value !== undefined && value !== null

function add(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1
}

/** True when a time was sent but is not one. */
export const isMalformedTime = (value: unknown): boolean => present(value) && !isValidDate(value)

/**
 * Counts the repairs one event will get. `envelopeSentAt`: its batch's `sentAt`, which applies
 * when it has none of its own; `view`: the event as its ids will be read (its batch's context
 * merged), when that differs from `raw`.
 */
export function countRepairs(repairs: Repairs, raw: Record<string, unknown>, envelopeSentAt?: unknown, view: Record<string, unknown> = raw): void {
  if (isMalformedTime(raw.timestamp)) add(repairs.invalidTimes, 'timestamp')
  if (present(raw.sentAt) ? !isValidDate(raw.sentAt) : isMalformedTime(envelopeSentAt)) add(repairs.invalidTimes, 'sentAt')
  for (const { path } of junkIdsOf(view)) add(repairs.junkIds, path.join('.'))
}

/** `event` with `notes` added to its `context.csbRelay` (new objects; a sender's non-object there is replaced). */
export function withNotes<E extends Record<string, unknown>>(event: E, notes: RelayNotes): E {
  const context = isPlainObject(event.context) ? event.context : {}
  const earlier = isPlainObject(context[RELAY_NOTES]) ? (context[RELAY_NOTES] as Record<string, unknown>) : {}
  return { ...event, context: { ...context, [RELAY_NOTES]: { ...earlier, ...notes } } }
}

/** Whether any note was taken. */
export const hasNotes = (notes: RelayNotes): boolean => Object.keys(notes).length > 0
