import type { EventStatus, StoredEvent } from './events'

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

/** What the dashboard, metrics and backpressure read: counts, events, statistics, reasons, latency. */
export interface StoreReads {
  counts(): Promise<Counts>
  get(id: string): Promise<StoredEvent | null>
  list(query: ListQuery): Promise<StoredEvent[]>
  /** Outcome counts per time bucket. */
  stats(query: StatsQuery): Promise<StatsBucket[]>
  /** Dead letters and retrying events grouped by reason. */
  reasons(): Promise<ReasonCount[]>
  /** End-to-end latency (finishedAt - receivedAt) percentile in ms of delivered events since `since`. */
  latencyPercentile(p: number, since: Date): Promise<number | null>
}
