/**
 * Segment's server-side normalisation, applied once per accepted event:
 * - `messageId` generated when absent;
 * - `receivedAt` set to the time the relay received the request;
 * - clock skew corrected: `timestamp = receivedAt - (sentAt - originalTimestamp)` when the
 *   sender says when it sent (`sentAt`), keeping what it sent as `originalTimestamp`;
 * - batch-level `context` and `integrations` merged into each event (the event's keys win);
 * - the write key removed.
 */
import { randomUUID } from 'node:crypto'
import type { SegmentEvent } from '../store/types'
import { isId, isPlainObject, type EventType } from './validate'

/** Fields a batch (or the browser library's envelope) sets for all of its events. */
export interface Envelope {
  context?: unknown
  integrations?: unknown
  sentAt?: unknown
}

function toMillis(value: unknown): number {
  return typeof value === 'number' ? value : Date.parse(value as string)
}

function mergeBag(outer: unknown, own: unknown): unknown {
  if (!isPlainObject(outer)) return own
  // Spread defines own properties (no setters run), so hostile keys stay plain data.
  return isPlainObject(own) ? { ...outer, ...own } : { ...outer }
}

export function normaliseEvent(raw: Record<string, unknown>, type: EventType, envelope: Envelope, receivedAt: Date): SegmentEvent {
  const event: Record<string, unknown> = { ...raw, type }
  delete event.writeKey

  event.messageId = isId(raw.messageId) ? String(raw.messageId) : randomUUID()
  if (typeof raw.userId === 'number') event.userId = String(raw.userId)
  if (typeof raw.anonymousId === 'number') event.anonymousId = String(raw.anonymousId)

  if (envelope.context !== undefined) event.context = mergeBag(envelope.context, raw.context)
  if (envelope.integrations !== undefined) event.integrations = mergeBag(envelope.integrations, raw.integrations)

  const received = receivedAt.getTime()
  const sentAt = raw.sentAt ?? envelope.sentAt
  const original = raw.timestamp
  let timestamp = received
  if (original !== undefined && original !== null) {
    event.originalTimestamp = original
    const originalMs = toMillis(original)
    timestamp = sentAt !== undefined && sentAt !== null ? received - (toMillis(sentAt) - originalMs) : originalMs
  }
  if (sentAt !== undefined && sentAt !== null) event.sentAt = sentAt
  // Hostile sentAt/timestamp pairs can land outside the Date range: fall back to receivedAt.
  const corrected = new Date(timestamp)
  event.timestamp = Number.isNaN(corrected.getTime()) ? receivedAt.toISOString() : corrected.toISOString()
  event.receivedAt = receivedAt.toISOString()
  return event as SegmentEvent
}
