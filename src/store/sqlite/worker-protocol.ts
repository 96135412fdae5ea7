/**
 * What the main thread and the thread hosting the SQLite engine say to each other (proxy.ts,
 * worker-entry.ts), over the store's worker RPC (../worker-rpc).
 */
import type { SerialisedEvents } from '../serialised'
import type { EnqueueResult, QueuedSummary, Store } from '../types'
import type { PlainError } from '../worker-rpc'
import type { InboxInput } from './inbox'

/** What the engine's thread is started with. */
export interface WorkerSetup {
  file: string
  dedupeWindowMs: number
  retentionMs: number
  deadLetterRetentionMs: number
  destinations: string[]
  /** The caller injected a clock: its reading comes with each call (the `clock` note). */
  customClock: boolean
  /** StoreOptions.expander: the module path the thread loads. */
  expander?: string
}

/** The verbs the thread runs as they are, one call each. */
export const HOSTED_VERBS = [
  'lease', 'extendLease', 'complete', 'skip', 'retryLater', 'deadLetter', 'replay', 'expediteRetries',
  'counts', 'get', 'list', 'stats', 'reasons', 'latencyPercentile',
  'linkIdentities', 'accountsFor', 'getMeta', 'setMeta', 'setMetaIfAbsent', 'admitNames', 'listNames', 'prune',
  'createRegulation', 'getRegulation', 'listRegulations', 'updateRegulation', 'claimRegulations', 'renewRegulationClaim', 'releaseRegulationClaim',
  'suppress', 'unsuppress', 'suppressedAmong', 'suppressedEvents', 'purgeUsers'
] as const
export type HostedVerb = (typeof HOSTED_VERBS)[number]

type Unhosted = Exclude<keyof Store, HostedVerb | 'engine' | 'enqueueTransactions' | 'inboxErrors' | 'keepsOpaqueBatches' | 'enqueue' | 'admit' | 'onQueued' | 'close'>
type None<T extends never> = T
/** Fails to compile when Store gains a verb that is neither hosted nor handled by the proxy itself. */
export type EveryVerbHosted = None<Unhosted>

/** One `enqueue` call's outcome inside an `enqueueMany` answer. */
export interface Settlement {
  ok: boolean
  value?: EnqueueResult[]
  error?: PlainError
}

/** The engine's counters, sent whenever they change (before the answer that follows). */
export interface EngineCounters {
  enqueueTransactions: number
  inboxErrors: number
}

/** A line the engine logs, for the logger the main thread was given. */
export interface LogRecord {
  level: 'warn' | 'error'
  obj: object
  msg?: string
}

/** The engine's thread. */
export interface EngineThread {
  calls: Pick<Store, HostedVerb> & {
    /** Opens (and migrates) the database: the first call. */
    open(): void
    /** Several `enqueue` calls in one message; one settlement per call, each call its own savepoint. */
    enqueueMany(calls: SerialisedEvents[]): Settlement[]
    /** Several `admit` calls' inbox rows. */
    admitRows(rows: InboxInput[]): void
    /** Closes the store after the writes before it; the thread then ends. */
    close(): void
  }
  notes: {
    /** A move of admitted events into the queue (onQueued). */
    queued: QueuedSummary
    counters: EngineCounters
    log: LogRecord
  }
}

/** The main thread: it answers nothing, and tells the thread its clock when it has a custom one. */
export interface EngineCaller {
  calls: Record<never, never>
  notes: { clock: number }
}
