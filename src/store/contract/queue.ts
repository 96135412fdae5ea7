import type { DeliverySamples, EnqueueResult, LeasedEvent, NewEvent } from './events'
import type { OpaqueBatch, SerialisedEvents } from '../serialised'

export interface LeaseOptions {
  /** At most this many events, each the head of a distinct ordering key. */
  limit: number
  /** Lease length; an event whose worker died becomes leasable again after it. */
  leaseMs: number
  /** Who holds the lease (instance id), for diagnosis. */
  owner: string
  /**
   * Ordering keys the caller is already working on and does not want (optional optimisation):
   * keys of `destination` when given, else these keys at every destination.
   */
  excludeKeys?: Iterable<string>
  /** Lease only this destination's events. Default: any destination's. */
  destination?: string
}

export interface CompleteItem {
  id: string
  /** The `leaseId` of the lease this outcome belongs to; when given and no longer current, the item is ignored. */
  leaseId?: string
  action?: string | null
  status?: number | null
  samples?: DeliverySamples | null
  /** Defaults to now. */
  finishedAt?: Date
}

export interface SkipItem {
  id: string
  /** The `leaseId` of the lease this outcome belongs to; when given and no longer current, the item is ignored. */
  leaseId?: string
  /** Why nothing was sent, e.g. "integrations.CustomerSuccessBox is false", "no subscription matches alias". */
  reason: string
}

export interface RetryItem {
  id: string
  /** The `leaseId` of the lease this outcome belongs to; when given and no longer current, the item is ignored. */
  leaseId?: string
  runAt: Date
  /**
   * The destination asked for this wait (a Retry-After, or a 429): `expediteRetries` leaves the
   * event alone until then. Absent: the wait is the relay's own backoff.
   */
  notBefore?: Date
  error: string
  action?: string | null
  status?: number | null
  samples?: DeliverySamples | null
}

export interface ExpediteOptions {
  /** The destination that answers again. */
  destination: string
  /** When its run of failures began: only events whose last failure is at or after it are made due. */
  failedSince: Date
  /** Defaults to the store's clock. */
  now?: Date
}

export interface DeadLetterItem {
  id: string
  /** The `leaseId` of the lease this outcome belongs to; when given and no longer current, the item is ignored. */
  leaseId?: string
  reason: string
  action?: string | null
  status?: number | null
  samples?: DeliverySamples | null
}

export interface ReplayFilter {
  /** Store ids of dead letters to replay. */
  ids?: string[]
  /** Replay every dead letter (optionally narrowed by `reason`). */
  all?: boolean
  /** Only dead letters whose reason contains this text. */
  reason?: string
  /** Only dead letters of this destination. Default: every destination's. */
  destination?: string
}

/**
 * What one move into the queue did, per event type: events queued, duplicates dropped, and
 * events dropped because their user is suppressed (absent when none was).
 */
export type QueuedSummary = Array<{ type: string; queued: number; duplicates: number; suppressed?: number }>

/**
 * The queue: events in (enqueue, admit), leased out head-first per ordering key, settled
 * (complete, skip, retryLater, deadLetter), replayed, pruned. What ingest and delivery use.
 */
export interface StoreQueue {
  /**
   * Stores events durably, one delivery row per destination in `StoreOptions.destinations`
   * (a duplicate gets none). Resolves only after the transaction that holds them has
   * committed. Concurrent calls are group-committed: they share one transaction.
   * Results are in the order of `events`.
   */
  enqueue(events: NewEvent[]): Promise<EnqueueResult[]>

  /**
   * Takes events for the queue and resolves once they are committed (durable), without waiting
   * to learn their ids or which are duplicates: the ingest path. They enter the queue in the
   * order admitted, behind everything admitted or enqueued before, with `enqueue`'s dedupe.
   * SQLite commits them to an inbox (one row per call) and moves them into the queue in the
   * background; PostgreSQL queues them at once. `onQueued` listeners hear of each move.
   * The events may come already serialised (`serialiseEvents`, serialised.ts), e.g. by another
   * thread, or as an `OpaqueBatch` that the store's `expander` turns into events when it moves it.
   */
  admit(events: NewEvent[] | SerialisedEvents | OpaqueBatch): Promise<void>
  /**
   * True when `admit` keeps an opaque batch as it came and expands it later, off the caller's
   * path (SQLite); false when it expands it at once on the calling thread (PostgreSQL), where a
   * caller that can prepare events on another thread should admit them serialised instead.
   */
  readonly keepsOpaqueBatches: boolean
  /** Calls `listener` after each commit that moved admitted events into the queue. Returns the unsubscribe. */
  onQueued(listener: (summary: QueuedSummary) => void): () => void

  /**
   * Leases up to `limit` deliverable events, each the head of its ordering key at its
   * destination (order holds per (destination, ordering key)). Leasing counts as an attempt: a
   * leased event's `attempts` includes the one it is leased for.
   */
  lease(options: LeaseOptions): Promise<LeasedEvent[]>
  /**
   * Extends leases still held (long deliveries, events waiting in a buffer); `leaseMs` 0 gives
   * them back at once. Resolves with the ids whose lease was held (the event still pending and
   * its key leased to it): an id left out was settled, skipped (a suppression) or purged, and
   * must not be delivered on this lease.
   */
  extendLease(ids: string[], leaseMs: number): Promise<string[]>

  complete(items: CompleteItem[]): Promise<void>
  skip(items: SkipItem[]): Promise<void>
  retryLater(items: RetryItem[]): Promise<void>
  deadLetter(items: DeadLetterItem[]): Promise<void>
  /**
   * A destination answers again after an outage: makes due now (the event's runAt and its key's
   * readiness) every pending event of `destination` whose last attempt failed retryably at or
   * after `failedSince` and that waits for a later retry. Left alone: events still leased, events
   * whose `notBefore` (the destination's own Retry-After) is still ahead, finished events.
   * Returns how many events it made due.
   */
  expediteRetries(options: ExpediteOptions): Promise<number>
  /**
   * Makes matching dead letters pending again (attempts reset); returns how many. A dead letter
   * whose `userId` is suppressed (StoreRegulations) is left as it is: suppression is never undone
   * by a replay.
   */
  replay(filter: ReplayFilter): Promise<number>

  /** Deletes finished events older than the retention and dedupe entries older than the window. */
  prune(now?: Date): Promise<number>
}
