import type { EventStatus, StoredEvent } from './events'

/** The counts of one destination's delivery rows (see `Counts`). */
export interface DestinationCounts {
  pending: number
  retrying: number
  inFlight: number
  delivered: number
  dead: number
  skipped: number
  /** receivedAt of this destination's oldest unfinished event, or null when it has none. */
  oldestPendingAt: Date | null
}

/**
 * What is stored, by state. The totals count delivery rows of every destination: an event
 * queued for two destinations counts twice (`byDestination` splits them).
 */
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
  /**
   * The same counts per destination: every destination in `StoreOptions.destinations`, and any
   * other that still has stored rows (one removed from the list).
   */
  byDestination: Record<string, DestinationCounts>
}

/** Unfinished rows (admitted + pending + retrying + in flight), of every destination added up. */
export function backlogOf(counts: Counts): number {
  return counts.admitted + counts.pending + counts.retrying + counts.inFlight
}

/**
 * The backlog backpressure compares with `maxBacklog`, in events: what is admitted and not yet
 * queued, plus the unfinished rows of the destination furthest behind. The store keeps one row
 * per destination, so the rows' total would fill the bound N times as fast with N destinations,
 * and the gate adds accepted events (not rows) to its last count. Counting the slowest
 * destination keeps the bound's meaning (events not yet delivered everywhere) whatever N is.
 */
export function slowestBacklog(counts: Counts): number {
  const perDestination = Object.values(counts.byDestination ?? {}).map((d) => d.pending + d.retrying + d.inFlight)
  if (perDestination.length === 0) return backlogOf(counts)
  return counts.admitted + Math.max(...perDestination)
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
  /** Only this destination's outcomes. Default: summed over every destination. */
  destination?: string
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
  /** Only this destination's rows. Default: every destination's. */
  destination?: string
}

export interface ReasonsQuery {
  /** Only this destination's rows. Default: every destination's. */
  destination?: string
}

/** A reason and how many rows of one destination and status hold it. */
export interface ReasonCount {
  destination: string
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
  /** Outcome counts per time bucket (of one destination, or summed over all). */
  stats(query: StatsQuery): Promise<StatsBucket[]>
  /** Dead letters, retrying and skipped events grouped by destination, reason and status. */
  reasons(query?: ReasonsQuery): Promise<ReasonCount[]>
  /**
   * End-to-end latency (finishedAt - receivedAt) percentile in ms of events delivered since
   * `since` (to `destination`, or to any destination).
   */
  latencyPercentile(p: number, since: Date, destination?: string): Promise<number | null>
}
