/**
 * The store's contract: a durable, deduplicating queue ordered per key, with dead letters,
 * delivery statistics and the identity map. Two engines implement it (SQLite, PostgreSQL);
 * one conformance suite tests both.
 *
 * Verbs are batch-first (as graphile-worker's `sql/` folder): every write takes a list.
 * Ordering is a property of the store, not of the workers: `lease` only ever hands out the
 * oldest unfinished event of an ordering key, and never while another event of that key is
 * leased or waiting for a retry.
 */

import type { OpaqueBatch, SerialisedEvents } from './serialised'

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
  /** Store id of the event (the existing one when `duplicate`). */
  id: string
  /** True when (source, messageId) was already stored inside the dedupe window. */
  duplicate: boolean
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

export interface StoredEvent {
  id: string
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

export interface LeaseOptions {
  /** At most this many events, each the head of a distinct ordering key. */
  limit: number
  /** Lease length; an event whose worker died becomes leasable again after it. */
  leaseMs: number
  /** Who holds the lease (instance id), for diagnosis. */
  owner: string
  /** Keys the caller is already working on and does not want (optional optimisation). */
  excludeKeys?: Iterable<string>
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
  error: string
  action?: string | null
  status?: number | null
  samples?: DeliverySamples | null
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
}

export interface Counts {
  /**
   * Taken by `admit` and durable, not yet moved into the queue (SQLite's inbox; always 0 on
   * PostgreSQL, whose `admit` queues at once). Counted in the backlog.
   */
  admitted: number
  /** Waiting for a first attempt. */
  pending: number
  /** Waiting for a retry (attempts > 0, not finished). */
  retrying: number
  /** Currently leased by a worker. */
  inFlight: number
  delivered: number
  dead: number
  skipped: number
  /** receivedAt of the oldest unfinished event, or null when the backlog is empty. */
  oldestPendingAt: Date | null
}

/** Unfinished events (admitted + pending + retrying + in flight): what backpressure compares to its bound. */
export function backlogOf(counts: Counts): number {
  return counts.admitted + counts.pending + counts.retrying + counts.inFlight
}

/** What one move into the queue did, per event type: events queued, and duplicates dropped. */
export type QueuedSummary = Array<{ type: string; queued: number; duplicates: number }>

export type Outcome = 'delivered' | 'retrying' | 'dead' | 'skipped' | 'ingested'

export interface StatsBucket {
  /** Start of the bucket. */
  at: Date
  outcome: Outcome
  count: number
}

export interface StatsQuery {
  from: Date
  to: Date
  /** Bucket width in seconds (e.g. 60). */
  bucketSeconds: number
}

export interface ListQuery {
  /** `'pending'`: every unfinished event; `'retrying'`: unfinished events that have failed at least once. */
  status?: EventStatus | 'retrying'
  /** Only events whose lastError / reason contains this text. */
  reason?: string
  type?: string
  limit?: number
  /** Return events with id below this (paging, newest first). */
  beforeId?: string
}

export interface ReasonCount {
  reason: string
  status: EventStatus | 'retrying'
  count: number
  lastAt: Date
}

export interface IdentityLink {
  /** The user: CSB user_id when known, else Segment userId. */
  userKey: string
  accountId: string
}

/** What `admitNames` answers. */
export interface NameAdmission {
  /** The names offered that were not admitted (new ones beyond the limit), in the order offered. */
  refused: string[]
  /** How many names of the kind are stored after the call. */
  count: number
}

export interface Store {
  /** Engine name, for /readyz and the dashboard: "sqlite" or "postgres". */
  readonly engine: string

  /**
   * Stores events durably. Resolves only after the transaction that holds them has
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
   * Leases up to `limit` deliverable events, each the head of its ordering key. Leasing counts
   * as an attempt: a leased event's `attempts` includes the one it is leased for.
   */
  lease(options: LeaseOptions): Promise<LeasedEvent[]>
  /** Extends leases still held (long deliveries); `leaseMs` 0 gives them back at once. */
  extendLease(ids: string[], leaseMs: number): Promise<void>

  complete(items: CompleteItem[]): Promise<void>
  skip(items: SkipItem[]): Promise<void>
  retryLater(items: RetryItem[]): Promise<void>
  deadLetter(items: DeadLetterItem[]): Promise<void>
  /** Makes matching dead letters pending again (attempts reset); returns how many. */
  replay(filter: ReplayFilter): Promise<number>

  counts(): Promise<Counts>
  get(id: string): Promise<StoredEvent | null>
  list(query: ListQuery): Promise<StoredEvent[]>
  /** Outcome counts per time bucket. */
  stats(query: StatsQuery): Promise<StatsBucket[]>
  /** Dead letters and retrying events grouped by reason. */
  reasons(): Promise<ReasonCount[]>
  /** End-to-end latency (finishedAt - receivedAt) percentile in ms of delivered events since `since`. */
  latencyPercentile(p: number, since: Date): Promise<number | null>

  /** Identity map: which account a user belongs to. */
  linkIdentities(links: IdentityLink[]): Promise<void>
  accountsFor(userKeys: string[]): Promise<Map<string, string>>

  /** Small key/value for relay state (generated write key, import checkpoints). */
  getMeta(key: string): Promise<string | null>
  setMeta(key: string, value: string): Promise<void>
  /**
   * Stores `value` under `key` unless a value is already stored there; resolves with the stored
   * value, this one or the one already there. Instances starting together on one database
   * agree on one value (the generated write key): exactly one call's value wins.
   */
  setMetaIfAbsent(key: string, value: string): Promise<string>

  /**
   * Names of a kind the relay has sent (CSB feature and module names: CSB keeps at most 256 of
   * each per instance). A name already stored is always admitted; a new one is stored while fewer
   * than `limit` names of its kind are. Instances on one database agree: the count never passes
   * the limit, however many admit at once. Names are never forgotten.
   */
  admitNames(kind: string, names: string[], limit: number): Promise<NameAdmission>
  /** Every stored name of a kind, in the order admitted. */
  listNames(kind: string): Promise<string[]>

  /** Deletes finished events older than the retention and dedupe entries older than the window. */
  prune(now?: Date): Promise<number>

  close(): Promise<void>

  /** Transactions `enqueue` has committed (group commit keeps this below the number of calls). For tests and benchmarks. */
  readonly enqueueTransactions?: number
  /**
   * SQLite: errors the background move of admitted events into the queue has met (failed moves,
   * tried again, and inbox rows kept as dead letters because they could not be queued), each
   * also logged through `StoreOptions.logger`. Absent on engines without an inbox.
   */
  readonly inboxErrors?: number
}

export interface StoreOptions {
  /** How long a messageId is remembered for dedupe. Default 24 h. */
  dedupeWindowMs: number
  /** How long finished (delivered, skipped) events are kept for the dashboard. Default 7 days. */
  retentionMs: number
  /** Clock in ms since the epoch; tests inject one. Default `Date.now`. */
  now?: () => number
  /** PostgreSQL only: schema holding the tables (created when missing). Default `public`, or `?schema=` in the URL. */
  schema?: string
  /** PostgreSQL only: connections in the pool. Default 10. */
  poolSize?: number
  /**
   * Module (a path for `require`) exporting `expand(head: string, body: Uint8Array): NewEvent[]`, which turns an
   * admitted `OpaqueBatch` into its events. Loaded in whichever thread runs the engine. Without
   * it, `admit` refuses opaque batches.
   */
  expander?: string
  /** Where the store logs what goes wrong off the caller's path (moving admitted events into the queue). Default: silent. */
  logger?: StoreLogger
  /** SQLite only: run the engine on the calling thread instead of a worker thread (default for files: worker; `:memory:` is always in process). */
  sqliteInProcess?: boolean
}

/** What the store logs through (pino satisfies it). */
export interface StoreLogger {
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}
