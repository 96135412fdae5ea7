/**
 * The SQLite engine hosted in a worker thread. better-sqlite3 is synchronous: on the main
 * thread every group commit (and its fsync) would stop the event loop, so no request is read
 * while a commit runs. Here the engine runs in worker-entry.ts and this class forwards each
 * verb as a message (structured clone: Dates and Maps survive). The worker is the only writer;
 * `enqueue` resolves only after the worker's transaction has committed, as in process.
 */
import { Worker } from 'node:worker_threads'
import type { ResolvedStoreOptions } from '../options'
import type {
  CompleteItem, Counts, DeadLetterItem, EnqueueResult, IdentityLink, LeasedEvent, LeaseOptions, ListQuery, NameAdmission,
  NewEvent, QueuedSummary, ReasonCount, ReplayFilter, RetryItem, SkipItem, StatsBucket, StatsQuery, Store, StoredEvent
} from '../types'
import { QueuedListeners } from '../queued'
import { threadEntry } from '../thread-entry'
import { isOpaqueBatch, isSerialisedEvents, movableBuffers, serialiseEvents, type OpaqueBatch, type SerialisedEvents } from '../serialised'
import { MAX_IN_FLIGHT } from './wal-sync'
import type { HostedVerb } from './worker-entry'

/** What the worker is started with. */
export interface WorkerSetup {
  file: string
  dedupeWindowMs: number
  retentionMs: number
  /** The caller injected a clock: each request carries its reading (`WorkerRequest.now`). */
  customClock: boolean
  /** StoreOptions.expander: the module path the worker loads. */
  expander?: string
}

export interface WorkerRequest {
  id: number
  /**
   * `enqueueMany`: several `enqueue` calls in one message (args[0]: each call's events, serialised);
   * answers one settlement per call. `admitRows`: several `admit` calls' inbox rows (args[0]).
   */
  verb: HostedVerb | 'enqueueMany' | 'admitRows'
  args: unknown[]
  /** The caller's clock at the call, when it has a custom one. */
  now?: number
}

export interface WorkerReply {
  id: number
  ok: boolean
  value?: unknown
  error?: { name: string; message: string; code?: string }
  /** The engine's enqueue transaction count after this request. */
  enqueueTransactions: number
  /** What moves into the queue reported since the last message (see WorkerQueuedNotice), before this answer. */
  queued?: QueuedSummary[]
}

/**
 * What moves of events into the queue reported (`onQueued`), in order. They ride on the next
 * answer (a small admit's own report does), or come alone at the end of the worker's turn: one
 * message, not one per move.
 */
export interface WorkerQueuedNotice {
  queued: QueuedSummary[]
}

interface Pending {
  resolve(value: unknown): void
  reject(error: unknown): void
}

/** One call's outcome inside an `enqueueMany` answer. */
export interface Settlement {
  ok: boolean
  value?: EnqueueResult[]
  error?: NonNullable<WorkerReply['error']>
}


const ERRORS: Record<string, new (message: string) => Error> = { RangeError, TypeError, SyntaxError }

function reviveError(error: NonNullable<WorkerReply['error']>): Error {
  const Ctor = ERRORS[error.name] ?? Error
  const revived = new Ctor(error.message)
  if (revived.name !== error.name) revived.name = error.name
  if (error.code !== undefined) (revived as Error & { code?: string }).code = error.code
  return revived
}

/**
 * Calls made in one turn of the event loop, sent to the worker as one message. `post` answers
 * one settlement per call, or nothing when every call succeeds alike.
 */
class TurnBatch<Item, Result> {
  private items: Item[] = []
  private waiters: Pending[] = []
  private inFlight = 0

  constructor(
    private readonly post: (items: Item[]) => Promise<Settlement[] | void>,
    /**
     * Messages unanswered at once; calls made meanwhile wait and go together in the next, so
     * under load each message carries many calls (each one costs both threads about as much as
     * a small call's own work).
     */
    private readonly maxInFlight = Infinity
  ) {}

  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      if (this.items.length === 0 && this.inFlight < this.maxInFlight) setImmediate(() => this.send())
      this.items.push(item)
      this.waiters.push({ resolve: resolve as (value: unknown) => void, reject })
    })
  }

  /** Sends the calls waiting, unless maxInFlight messages are unanswered (`force`: send anyway). */
  send(force = false): void {
    if (this.items.length === 0 || (!force && this.inFlight >= this.maxInFlight)) return
    const items = this.items
    const waiters = this.waiters
    this.items = []
    this.waiters = []
    this.inFlight++
    const answered = () => {
      this.inFlight--
      this.send()
    }
    this.post(items).then(
      (settlements) => {
        answered()
        waiters.forEach((w, k) => {
          const r = settlements?.[k]
          if (!r || r.ok) w.resolve(r?.value)
          else w.reject(reviveError(r.error ?? { name: 'Error', message: 'store worker failed' }))
        })
      },
      (error: unknown) => {
        answered()
        waiters.forEach((w) => w.reject(error))
      }
    )
  }
}

export class WorkerSqliteStore implements Store {
  readonly engine = 'sqlite'
  readonly keepsOpaqueBatches = true
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private transactions = 0
  private failure: Error | null = null
  private closing: Promise<void> | null = null
  private readonly exited: Promise<void>
  /**
   * `enqueue` and `admit` calls made in one turn of the event loop (requests read together) travel
   * as one message each; at most four admit messages are unanswered at once (as many WAL syncs
   * run at once).
   */
  private readonly enqueues = new TurnBatch<SerialisedEvents, EnqueueResult[]>((calls) => this.call<Settlement[]>('enqueueMany', calls))
  private readonly admits = new TurnBatch<SerialisedEvents | OpaqueBatch, void>((rows) => {
    if (this.closing) return Promise.reject(new Error('store is closed'))
    // An opaque body that owns its whole buffer moves to the worker without a copy (the caller
    // handed it over); one that shares a buffer (Node's pool for small Buffers) is copied.
    const transfer = movableBuffers(rows.flatMap((row) => (isOpaqueBatch(row) ? [row.body] : [])))
    return this.request<void>(this.nextId++, 'admitRows', [rows], transfer)
  }, MAX_IN_FLIGHT)
  private readonly queued = new QueuedListeners()

  private constructor(
    private readonly worker: Worker,
    private readonly clock: (() => number) | null
  ) {
    worker.on('message', (message: WorkerReply | WorkerQueuedNotice) => {
      // Reports first: they came before the answer they ride on.
      if (message.queued) for (const summary of message.queued) this.queued.emit(summary)
      if ('id' in message) this.settle(message)
    })
    worker.on('error', (error) => this.fail(error))
    this.exited = new Promise((resolve) => worker.once('exit', (code) => {
      this.fail(new Error(`store worker exited (code ${code})`))
      resolve()
    }))
    worker.unref()
  }

  /** Starts the worker and waits until it has opened (and migrated) the database. */
  static async open(file: string, options: ResolvedStoreOptions, customClock: boolean): Promise<WorkerSqliteStore> {
    const entry = threadEntry(__filename, __dirname, 'worker-entry')
    const setup: WorkerSetup = { file, dedupeWindowMs: options.dedupeWindowMs, retentionMs: options.retentionMs, customClock, expander: options.expander?.path }
    const worker = new Worker(entry.filename, { eval: entry.eval, workerData: setup })
    const store = new WorkerSqliteStore(worker, customClock ? options.now : null)
    try {
      await store.request(0)
    } catch (error) {
      await worker.terminate()
      throw error
    }
    return store
  }

  get enqueueTransactions(): number {
    return this.transactions
  }

  /** Id 0 is the worker's "opened" message; other ids are requests sent here. */
  private request<T>(id: number, verb?: WorkerRequest['verb'], args: unknown[] = [], transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure)
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
    })
    if (this.pending.size === 1) this.worker.ref()
    if (verb) {
      const message: WorkerRequest = { id, verb, args }
      if (this.clock) message.now = this.clock()
      try {
        this.worker.postMessage(message, transfer)
      } catch (error) {
        // Arguments that cannot be cloned (functions, class instances with private state).
        this.pending.delete(id)
        if (this.pending.size === 0) this.worker.unref()
        return Promise.reject(error)
      }
    }
    return promise
  }

  private call<T>(verb: WorkerRequest['verb'], ...args: unknown[]): Promise<T> {
    if (this.closing && verb !== 'close') return Promise.reject(new Error('store is closed'))
    return this.request<T>(this.nextId++, verb, args)
  }

  private settle(reply: WorkerReply): void {
    this.transactions = reply.enqueueTransactions
    const waiting = this.pending.get(reply.id)
    if (!waiting) return
    this.pending.delete(reply.id)
    // While closing, the worker stays referenced until it has exited (answers may arrive after close's).
    if (this.pending.size === 0 && !this.closing) this.worker.unref()
    if (reply.ok) waiting.resolve(reply.value)
    else waiting.reject(reviveError(reply.error ?? { name: 'Error', message: 'store worker failed' }))
  }

  private fail(error: Error): void {
    this.failure ??= this.closing ? new Error('store is closed') : error
    for (const waiting of this.pending.values()) waiting.reject(this.failure)
    this.pending.clear()
  }

  enqueue(events: NewEvent[]): Promise<EnqueueResult[]> {
    if (events.length === 0) return this.closing ? Promise.reject(new Error('store is closed')) : Promise.resolve([])
    // Serialised here, as admit's are: strings cross to the worker as a copy, where a cloned
    // object tree costs more to deserialise there than JSON.stringify costs here.
    let wire: SerialisedEvents
    try {
      wire = serialiseEvents(events)
    } catch (error) {
      return Promise.reject(error)
    }
    if (this.closing || this.failure) return Promise.reject(this.failure ?? new Error('store is closed'))
    // In the worker each call still runs as its own call (own savepoint) in the same group transaction.
    return this.enqueues.add(wire)
  }

  admit(events: NewEvent[] | SerialisedEvents | OpaqueBatch): Promise<void> {
    if (this.closing || this.failure) return Promise.reject(this.failure ?? new Error('store is closed'))
    // Serialised here (unless it comes serialised), one row per call: the worker only inserts it.
    let row: SerialisedEvents | OpaqueBatch
    try {
      row = isSerialisedEvents(events) || isOpaqueBatch(events) ? events : serialiseEvents(events)
    } catch (error) {
      return Promise.reject(error)
    }
    if (row.n === 0) return Promise.resolve()
    return this.admits.add(row)
  }

  onQueued(listener: (summary: QueuedSummary) => void): () => void {
    return this.queued.add(listener)
  }

  lease(options: LeaseOptions): Promise<LeasedEvent[]> {
    const { excludeKeys, ...rest } = options
    return this.call('lease', excludeKeys === undefined ? rest : { ...rest, excludeKeys: [...excludeKeys] })
  }

  extendLease(ids: string[], leaseMs: number): Promise<void> {
    return this.call('extendLease', ids, leaseMs)
  }

  complete(items: CompleteItem[]): Promise<void> {
    return this.call('complete', items)
  }

  skip(items: SkipItem[]): Promise<void> {
    return this.call('skip', items)
  }

  retryLater(items: RetryItem[]): Promise<void> {
    return this.call('retryLater', items)
  }

  deadLetter(items: DeadLetterItem[]): Promise<void> {
    return this.call('deadLetter', items)
  }

  replay(filter: ReplayFilter): Promise<number> {
    return this.call('replay', filter)
  }

  counts(): Promise<Counts> {
    return this.call('counts')
  }

  get(id: string): Promise<StoredEvent | null> {
    return this.call('get', id)
  }

  list(query: ListQuery): Promise<StoredEvent[]> {
    return this.call('list', query)
  }

  stats(query: StatsQuery): Promise<StatsBucket[]> {
    return this.call('stats', query)
  }

  reasons(): Promise<ReasonCount[]> {
    return this.call('reasons')
  }

  latencyPercentile(p: number, since: Date): Promise<number | null> {
    return this.call('latencyPercentile', p, since)
  }

  linkIdentities(links: IdentityLink[]): Promise<void> {
    return this.call('linkIdentities', links)
  }

  accountsFor(userKeys: string[]): Promise<Map<string, string>> {
    return this.call('accountsFor', userKeys)
  }

  getMeta(key: string): Promise<string | null> {
    return this.call('getMeta', key)
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.call('setMeta', key, value)
  }

  setMetaIfAbsent(key: string, value: string): Promise<string> {
    return this.call('setMetaIfAbsent', key, value)
  }

  admitNames(kind: string, names: string[], limit: number): Promise<NameAdmission> {
    return this.call('admitNames', kind, names, limit)
  }

  listNames(kind: string): Promise<string[]> {
    return this.call('listNames', kind)
  }

  prune(now?: Date): Promise<number> {
    return this.call('prune', now)
  }

  /** Lets every submitted call finish (the worker closes after the writes before it), then ends the worker. */
  close(): Promise<void> {
    if (this.closing) return this.closing
    this.enqueues.send(true)
    this.admits.send(true)
    if (this.failure) {
      this.closing = this.worker.terminate().then(() => undefined)
      return this.closing
    }
    const closed = this.call<void>('close')
    this.closing = closed.then(
      () => {
        // Keeps the process alive until the worker has ended.
        this.worker.ref()
        return this.exited
      },
      async () => {
        await this.worker.terminate()
      }
    )
    return this.closing
  }
}
