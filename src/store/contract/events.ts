/** The shapes of events: as ingest hands them to the store, and as the store keeps and leases them. */

/** Segment event JSON after ingest normalisation (messageId, receivedAt, timestamp set). */
export type SegmentEvent = Record<string, unknown> & {
  type: string
  messageId: string
  userId?: string | null
  anonymousId?: string | null
}

export interface NewEvent {
  /** Which source sent it (a source name, never a write key). Dedupe is per (source, messageId). */
  source: string
  messageId: string
  /** Serialises delivery: events with the same key are delivered in `enqueue` order. */
  orderingKey: string
  type: string
  /** The normalised event as received. */
  event: SegmentEvent
  receivedAt: Date
}

export interface EnqueueResult {
  /**
   * Store id of the event (the existing one when `duplicate`): the id of its row for the first
   * destination in `StoreOptions.destinations` (each destination's row has its own id).
   */
  id: string
  /** True when (source, messageId) was already stored inside the dedupe window. */
  duplicate: boolean
  /**
   * True when the event was dropped because its `userId` is suppressed (StoreRegulations): it
   * is not stored, `id` is '' and `duplicate` false. Absent otherwise.
   */
  suppressed?: true
}

/** Where an event is in its life. `pending` covers waiting for a first attempt or a retry. */
export type EventStatus = 'pending' | 'delivered' | 'dead' | 'skipped'

/** Three samples kept for an attempt, shown in the dashboard. Keys are redacted before they get here. */
export interface DeliverySamples {
  /** The CSB request sent: method, url, headers (Authorization redacted), body. */
  request?: unknown
  /** CSB's response: status, headers, body (or the network error). */
  response?: unknown
}

/**
 * One event as one destination sees it: each accepted event is stored once per destination in
 * `StoreOptions.destinations` (a delivery row), with its own id, status, attempts and outcome.
 */
export interface StoredEvent {
  /** Unique per row: the rows of one event for two destinations have different ids. */
  id: string
  /** The destination this row is delivered to (a name from `StoreOptions.destinations`). */
  destination: string
  source: string
  messageId: string
  orderingKey: string
  type: string
  event: SegmentEvent
  receivedAt: Date
  status: EventStatus
  /** Attempts made so far (0 before the first). */
  attempts: number
  /** When the next attempt may start (pending only). */
  runAt: Date
  /** First time an attempt failed retryably; the retry window counts from here. */
  firstFailedAt: Date | null
  lastError: string | null
  finishedAt: Date | null
  /** Action that delivered / rejected it, when known. */
  action: string | null
  /** HTTP status of the last attempt, when there was one. */
  lastStatus: number | null
  samples: DeliverySamples | null
}

export interface LeasedEvent extends StoredEvent {
  /** The lease expires at this time; after it another worker (or instance) may take the event. */
  leasedUntil: Date
  /**
   * Names this lease (both engines always set it). Pass it back on the outcome item so a
   * worker whose lease expired and was re-taken by another cannot settle the event under the
   * new holder's feet: an item whose `leaseId` is not the current lease is ignored.
   */
  leaseId?: string
}
