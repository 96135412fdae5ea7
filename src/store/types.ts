/**
 * The store's contract: a durable, deduplicating queue ordered per key, with dead letters,
 * delivery statistics and the identity map. Two engines implement it (SQLite, PostgreSQL);
 * one conformance suite tests both.
 *
 * Verbs are batch-first (as graphile-worker's `sql/` folder): every write takes a list.
 * Ordering is a property of the store, not of the workers: `lease` only ever hands out the
 * oldest unfinished event of an ordering key, and never while another event of that key is
 * leased or waiting for a retry.
 *
 * `Store` is the intersection of cohesive parts (contract/), so that a caller can ask for only
 * the part it needs: the queue (ingest, delivery), the reads (dashboard, metrics), the identity
 * map, meta (small settings), names (CSB features and modules sent) and regulations (user
 * suppression and deletion).
 */
import type { StoreIdentities } from './contract/identity'
import type { StoreMeta } from './contract/meta'
import type { StoreNames } from './contract/names'
import type { StoreQueue } from './contract/queue'
import type { StoreReads } from './contract/reads'
import type { StoreRegulations } from './contract/regulations'

export * from './contract/events'
export * from './contract/identity'
export * from './contract/meta'
export * from './contract/names'
export * from './contract/queue'
export * from './contract/reads'
export * from './contract/regulations'

/** The engine as a whole: its name, its counters, and closing it. */
export interface StoreEngine {
  /** Engine name, for /readyz and the dashboard: "sqlite" or "postgres". */
  readonly engine: string

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

export type Store = StoreEngine & StoreQueue & StoreReads & StoreIdentities & StoreMeta & StoreNames & StoreRegulations

export interface StoreOptions {
  /** How long a messageId is remembered for dedupe. Default 24 h. */
  dedupeWindowMs: number
  /** How long finished (delivered, skipped) events and their samples are kept for the dashboard. Default 7 days. */
  retentionMs: number
  /** How long dead letters are kept, counted from when they died (a replay restarts it). Default 30 days. */
  deadLetterRetentionMs?: number
  /**
   * The destinations each accepted event is delivered to: it gets one delivery row per name when
   * it moves into the queue. Default `['CustomerSuccessBox']` (DEFAULT_DESTINATION). A name added
   * later gets the events queued after that; a name removed keeps its rows (listable, replayable).
   */
  destinations?: string[]
  /** Clock in ms since the epoch; tests inject one. Default `Date.now`. */
  now?: () => number
  /** PostgreSQL only: schema holding the tables (created when missing). Default `public`, or `?schema=` in the URL. */
  schema?: string
  /** PostgreSQL only: connections in the pool. Default 10. */
  poolSize?: number
  /**
   * Module (a path for `require`) exporting `expand(head: string, body: Uint8Array): NewEvent[]`, which turns an
   * admitted `OpaqueBatch` into its events. Loaded in whichever thread runs the engine. Without
   * it, `admit` refuses opaque batches. The body must name each event's user under a `"userId"`
   * key (SQLite looks for suppressed users in it before storing it; docs/store.md).
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
