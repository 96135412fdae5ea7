/**
 * Segment's server-side normalisation, applied once per accepted event:
 * - `messageId` generated when absent;
 * - `receivedAt` set to the time the relay received the request;
 * - clock skew corrected: `timestamp = receivedAt - (sentAt - originalTimestamp)` when the
 *   sender says when it sent (`sentAt`), keeping what it sent as `originalTimestamp`;
 * - a malformed `timestamp` or `sentAt` replaced (receivedAt; no skew correction) and junk ids
 *   removed, what was sent kept in `context.csbRelay` (repairs.ts);
 * - batch-level `context` and `integrations` merged into each event (the event's keys win);
 * - the write key removed.
 */
import { randomUUID } from 'node:crypto'
import type { SegmentEvent } from '../store/types'
import { isoString } from './iso-time'
import { withoutJunkIds } from './junk-ids'
import { hasNotes, withNotes, type RelayNotes } from './repairs'
import { isId, isPlainObject, isValidDate, type EventType } from './validate'

/** Fields a batch (or the browser library's envelope) sets for all of its events. */
export interface Envelope {
  context?: unknown
  integrations?: unknown
  sentAt?: unknown
}

/** An envelope with what every event of the request shares computed once. */
export interface RequestFacts {
  envelope: Envelope
  receivedMs: number
  receivedIso: string
  /** The envelope's sentAt in ms, when it has a valid one. */
  sentAtMs: number | undefined
}

function toMillis(value: unknown): number {
  return typeof value === 'number' ? value : Date.parse(value as string)
}

/** The largest time a Date holds (ECMAScript: ±8.64e15 ms). */
const MAX_DATE_MS = 8.64e15

const present = (value: unknown) => value !== undefined && value !== null

export function requestFacts(envelope: Envelope, receivedAt: Date): RequestFacts {
  return {
    envelope,
    receivedMs: receivedAt.getTime(),
    receivedIso: isoString(receivedAt.getTime()),
    sentAtMs: present(envelope.sentAt) && isValidDate(envelope.sentAt) ? toMillis(envelope.sentAt) : undefined
  }
}

function mergeBag(outer: unknown, own: unknown): unknown {
  if (!isPlainObject(outer)) return own
  // Spread defines own properties (no setters run), so hostile keys stay plain data.
  return isPlainObject(own) ? { ...outer, ...own } : { ...outer }
}

export function normaliseEvent(raw: Record<string, unknown>, type: EventType, facts: RequestFacts): SegmentEvent {
  // Rest-copy rather than `delete`: the copy stays a fast object for validation and stringify.
  const { writeKey: _writeKey, ...event } = raw
  event.type = type

  event.messageId = isId(raw.messageId) ? String(raw.messageId) : randomUUID()
  if (typeof raw.userId === 'number') event.userId = String(raw.userId)
  if (typeof raw.anonymousId === 'number') event.anonymousId = String(raw.anonymousId)

  const { envelope, receivedMs, receivedIso } = facts
  if (envelope.context !== undefined) event.context = mergeBag(envelope.context, raw.context)
  if (envelope.integrations !== undefined) event.integrations = mergeBag(envelope.integrations, raw.integrations)

  const notes: RelayNotes = {}
  let sentAtMs: number | undefined
  if (present(raw.sentAt)) {
    if (isValidDate(raw.sentAt)) sentAtMs = toMillis(raw.sentAt)
    else {
      notes.invalidSentAt = raw.sentAt
      delete event.sentAt
    }
  }
  if (sentAtMs === undefined && present(envelope.sentAt)) {
    if (facts.sentAtMs !== undefined) {
      sentAtMs = facts.sentAtMs
      event.sentAt = envelope.sentAt
    } else if (notes.invalidSentAt === undefined) {
      notes.invalidSentAt = envelope.sentAt
    }
  }
  let timestamp = receivedIso
  if (present(raw.timestamp)) {
    if (isValidDate(raw.timestamp)) {
      event.originalTimestamp = raw.timestamp
      const originalMs = toMillis(raw.timestamp)
      const corrected = sentAtMs !== undefined ? receivedMs - (sentAtMs - originalMs) : originalMs
      // Hostile sentAt/timestamp pairs can land outside the Date range: keep receivedAt then.
      if (Math.abs(corrected) <= MAX_DATE_MS) timestamp = isoString(corrected)
    } else {
      notes.invalidTimestamp = raw.timestamp
    }
  }
  event.timestamp = timestamp
  event.receivedAt = receivedIso
  const { event: cleaned, junk } = withoutJunkIds(event)
  if (junk) notes.junkIds = junk
  if (hasNotes(notes)) return withNotes(cleaned, notes) as SegmentEvent
  return cleaned as SegmentEvent
}
