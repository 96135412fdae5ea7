/**
 * The events of a /v1/webhook body: what Segment's Webhooks destinations send, one event (an
 * object) or several (an array, Webhooks (Actions) with batching on). Segment normalised these
 * events already, so they are kept as sent: `messageId`, `timestamp`, `receivedAt`, `context`
 * and `integrations` are not touched (no clock-skew correction: Segment made it). The relay's
 * own arrival time is the stored event's `receivedAt` (NewEvent.receivedAt), beside Segment's.
 * Fields only a non-Segment sender could leave out are filled as the other routes fill them, and
 * what the other routes repair is repaired the same way (repairs.ts): a malformed `timestamp`,
 * `sentAt` or `receivedAt` is replaced by the relay's time of receipt, junk ids are removed.
 *
 * An array is all or nothing, as /v1/batch: one bad event refuses the request and the error
 * names the index (`body[3]`) and problem of every bad event.
 *
 * A `delete` event (Segment forwards a user deletion request so) is no event to deliver: its
 * `userId` is handed back for a DELETE_ONLY regulation (docs/privacy.md), and it is not stored.
 */
import { randomUUID } from 'node:crypto'
import type { NewEvent, SegmentEvent } from '../store/types'
import { IngestError } from './errors'
import type { EventLimits } from './events'
import { isoString } from './iso-time'
import { orderingKeyOf } from './ordering-key'
import { withoutJunkIds } from './junk-ids'
import { checkEach, sizeOf, typeProblem } from './problems'
import { countRepairs, hasNotes, isMalformedTime, withNotes, type RelayNotes, type Repairs } from './repairs'
import { EVENT_TYPES, eventProblem, isEventType, isId, isPlainObject } from './validate'

/** Segment forwards a user deletion request as `{"type":"delete","userId":...}`. */
export const DELETE_TYPE = 'delete'
export type WebhookEventType = (typeof WEBHOOK_TYPES)[number]
export const WEBHOOK_TYPES = [...EVENT_TYPES, DELETE_TYPE] as const

function isWebhookType(value: unknown): value is WebhookEventType {
  return isEventType(value) || value === DELETE_TYPE
}

/** One event of the body, checked, with its type. */
export interface Item {
  raw: Record<string, unknown>
  type: WebhookEventType
}

const present = (value: unknown) => value !== undefined && value !== null

/** The problem with one event, or undefined. */
function problemOf(item: unknown, recheck: boolean): string | undefined {
  if (!isPlainObject(item)) return 'event is not a JSON object'
  if (!isWebhookType(item.type)) return typeProblem(item.type, WEBHOOK_TYPES)
  if (!recheck) return undefined
  return eventProblem(item, item.type)
}

/** Counts the repairs `keptEvent` makes (repairs.ts) in the events that are stored (deletion requests are not). */
function countItems(items: Item[], repairs: Repairs | undefined): Item[] {
  if (!repairs) return items
  for (const { raw, type } of items) {
    if (type === DELETE_TYPE) continue
    countRepairs(repairs, raw)
    if (isMalformedTime(raw.receivedAt)) repairs.invalidTimes.receivedAt = (repairs.invalidTimes.receivedAt ?? 0) + 1
  }
  return items
}

/** The userIds the request's `delete` events ask to delete, each once, in order. */
export function deletionsOf(items: readonly Item[]): string[] {
  const ids = new Set<string>()
  for (const { raw, type } of items) if (type === DELETE_TYPE) ids.add(String(raw.userId))
  return [...ids]
}

/** The events of the request that are stored: every one but the deletion requests. */
export function storedItems(items: readonly Item[]): Item[] {
  return items.filter((item) => item.type !== DELETE_TYPE)
}

/**
 * Every check of `webhookEvents`, without making events: throws the same IngestError.
 * `recheck` false: the body passed these checks when it was accepted (see events.ts).
 * `repairs`: counts what `webhookEvents` will repair.
 */
export function checkWebhook(body: unknown, bodyBytes: number, limits: EventLimits, recheck = true, repairs?: Repairs): Item[] {
  if (isPlainObject(body)) {
    if (bodyBytes > limits.maxEventBytes) throw new IngestError(413, `event is ${bodyBytes} bytes; the limit is ${limits.maxEventBytes}`)
    const problem = problemOf(body, recheck)
    if (problem) throw new IngestError(400, problem)
    return countItems([{ raw: body, type: body.type as WebhookEventType }], repairs)
  }
  if (!Array.isArray(body)) throw new IngestError(400, 'body must be a Segment event (a JSON object) or a JSON array of events')
  if (body.length > limits.maxBatchEvents) {
    throw new IngestError(
      400,
      `array has ${body.length} events; at most ${limits.maxBatchEvents} are accepted per request (lower the batch size in Segment's mapping)`
    )
  }
  const items = checkEach<WebhookEventType>(body, 'body', bodyBytes, limits.maxEventBytes, (item) => {
    const problem = problemOf(item, recheck)
    return problem ? { problem } : { type: (item as Record<string, unknown>).type as WebhookEventType }
  })
  return countItems(items, repairs)
}

/** One event as Segment sent it; only what a non-Segment sender may have left out is filled, and what is malformed repaired. */
function keptEvent(raw: Record<string, unknown>, type: WebhookEventType, receivedIso: string): SegmentEvent {
  // A write key has no business in a stored event, whoever put it there.
  const { writeKey: _writeKey, ...event } = raw
  event.type = type
  event.messageId = isId(raw.messageId) ? String(raw.messageId) : randomUUID()
  if (typeof raw.userId === 'number') event.userId = String(raw.userId)
  if (typeof raw.anonymousId === 'number') event.anonymousId = String(raw.anonymousId)
  const notes: RelayNotes = {}
  if (isMalformedTime(raw.timestamp)) {
    notes.invalidTimestamp = raw.timestamp
    event.timestamp = receivedIso
  } else if (typeof raw.timestamp === 'number') {
    // Destinations read times as ISO strings; a number (ms) is the same instant written another way.
    event.timestamp = isoString(raw.timestamp)
  } else if (!present(raw.timestamp)) {
    event.timestamp = receivedIso
  }
  if (isMalformedTime(raw.sentAt)) {
    notes.invalidSentAt = raw.sentAt
    delete event.sentAt
  }
  if (isMalformedTime(raw.receivedAt)) notes.invalidReceivedAt = raw.receivedAt
  if (!present(raw.receivedAt) || notes.invalidReceivedAt !== undefined) event.receivedAt = receivedIso
  const { event: cleaned, junk } = withoutJunkIds(event)
  if (junk) notes.junkIds = junk
  return (hasNotes(notes) ? withNotes(cleaned, notes) : cleaned) as SegmentEvent
}

export function webhookEvents(
  body: unknown,
  bodyBytes: number,
  source: string,
  limits: EventLimits,
  receivedAt: Date,
  recheck = true,
  repairs?: Repairs,
  /** Receives the userIds of the request's `delete` events (deletionsOf). */
  deletions?: string[]
): NewEvent[] {
  const items = checkWebhook(body, bodyBytes, limits, recheck, repairs)
  if (deletions) deletions.push(...deletionsOf(items))
  const receivedIso = isoString(receivedAt.getTime())
  return storedItems(items).map(({ raw, type }) => {
    const event = keptEvent(raw, type, receivedIso)
    return { source, messageId: event.messageId, orderingKey: orderingKeyOf(event), type, event, receivedAt }
  })
}
