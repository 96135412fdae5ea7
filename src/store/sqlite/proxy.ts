/**
 * The SQLite engine hosted in a worker thread. better-sqlite3 is synchronous: on the main
 * thread every group commit (and its fsync) would stop the event loop, so no request is read
 * while a commit runs. Here the engine runs in worker-entry.ts and this class forwards each
 * verb as a call over the store's worker RPC (structured clone: Dates and Maps survive). The
 * thread is the only writer; `enqueue` resolves only after the thread's transaction has
 * committed, as in process.
 */
import type { ResolvedStoreOptions } from '../options'
import type {
  CompleteItem, Counts, DeadLetterItem, EnqueueResult, ExpediteOptions, IdentityLink, LeasedEvent, LeaseOptions, ListQuery, NameAdmission,
  NewEvent, NewRegulation, PurgeResult, QueuedSummary, SuppressResult, ReasonCount, ReasonsQuery, Regulation, RegulationStatus, RegulationUpdate, ReplayFilter,
  RetryItem, SkipItem, StatsBucket, StatsQuery, Store, StoreLogger, StoredEvent
} from '../types'
import { QueuedListeners } from '../queued'
import { isOpaqueBatch, isSerialisedEvents, movableBuffers, serialiseEvents, type OpaqueBatch, type SerialisedEvents } from '../serialised'
import { threadEntry, WorkerRpc, type ArgsOf, type CallName, type Note, type ResultOf } from '../worker-rpc'
import { TurnBatch } from './turn-batch'
import { MAX_IN_FLIGHT } from './wal-sync'
import type { EngineCaller, EngineCounters, EngineThread, WorkerSetup } from './worker-protocol'

export class WorkerSqliteStore implements Store {
  readonly engine = 'sqlite'
  readonly keepsOpaqueBatches = true
  private readonly rpc: WorkerRpc<EngineCaller, EngineThread>
  private counters: EngineCounters = { enqueueTransactions: 0, inboxErrors: 0 }
  private closing: Promise<void> | null = null
  private readonly queued = new QueuedListeners()
  /**
   * `enqueue` and `admit` calls made in one turn of the event loop (requests read together) travel
   * as one call each; at most four admit calls are unanswered at once (as many WAL syncs run at once).
   */
  private readonly enqueues = new TurnBatch<SerialisedEvents, EnqueueResult[]>((calls) => this.call('enqueueMany', [calls]))
  private readonly admits = new TurnBatch<SerialisedEvents | OpaqueBatch, void>((rows) => {
    // An opaque body that owns its whole buffer moves to the thread without a copy (the caller
    // handed it over); one that shares a buffer (Node's pool for small Buffers) is copied.
    const transfer = movableBuffers(rows.flatMap((row) => (isOpaqueBatch(row) ? [row.body] : [])))
    return this.call('admitRows', [rows], transfer)
  }, MAX_IN_FLIGHT)

  private constructor(
    setup: WorkerSetup,
    private readonly clock: (() => number) | null,
    private readonly logger: StoreLogger
  ) {
    this.rpc = new WorkerRpc(threadEntry(__filename, __dirname, 'worker-entry'), {
      name: 'store worker',
      workerData: setup,
      closedError: () => new Error('store is closed'),
      onNote: (note) => this.heard(note)
    })
  }

  /** Starts the thread and waits until it has opened (and migrated) the database. */
  static async open(file: string, options: ResolvedStoreOptions, customClock: boolean): Promise<WorkerSqliteStore> {
    const setup: WorkerSetup = { file, dedupeWindowMs: options.dedupeWindowMs, retentionMs: options.retentionMs, deadLetterRetentionMs: options.deadLetterRetentionMs, destinations: options.destinations, customClock, expander: options.expander?.path }
    const store = new WorkerSqliteStore(setup, customClock ? options.now : null, options.logger)
    try {
      await store.call('open', [])
    } catch (error) {
      await store.rpc.terminate()
      throw error
    }
    return store
  }

  get enqueueTransactions(): number {
    return this.counters.enqueueTransactions
  }

  /** Failed moves of admitted events into the queue, and inbox rows kept as dead letters (the engine logs each). */
  get inboxErrors(): number {
    return this.counters.inboxErrors
  }

  private heard(note: Note<EngineThread>): void {
    if (note.name === 'queued') this.queued.emit(note.value)
    else if (note.name === 'counters') this.counters = note.value
    else this.logger[note.value.level](note.value.obj, note.value.msg)
  }

  private call<K extends CallName<EngineThread>>(name: K, args: ArgsOf<EngineThread, K>, transfer?: readonly ArrayBuffer[]): Promise<ResultOf<EngineThread, K>> {
    if (this.clock && !this.rpc.unavailable) this.rpc.notify('clock', this.clock())
    return this.rpc.call(name, args, transfer)
  }

  enqueue(events: NewEvent[]): Promise<EnqueueResult[]> {
    if (events.length === 0) return this.closing ? Promise.reject(new Error('store is closed')) : Promise.resolve([])
    // Serialised here, as admit's are: strings cross to the thread as a copy, where a cloned
    // object tree costs more to deserialise there than JSON.stringify costs here.
    let wire: SerialisedEvents
    try {
      wire = serialiseEvents(events)
    } catch (error) {
      return Promise.reject(error)
    }
    const unavailable = this.rpc.unavailable
    if (unavailable) return Promise.reject(unavailable)
    // In the thread each call still runs as its own call (own savepoint) in the same group transaction.
    return this.enqueues.add(wire)
  }

  admit(events: NewEvent[] | SerialisedEvents | OpaqueBatch): Promise<void> {
    const unavailable = this.rpc.unavailable
    if (unavailable) return Promise.reject(unavailable)
    // Serialised here (unless it comes serialised), one row per call: the thread only inserts it.
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
    return this.call('lease', [excludeKeys === undefined ? rest : { ...rest, excludeKeys: [...excludeKeys] }])
  }

  extendLease(ids: string[], leaseMs: number): Promise<string[]> {
    return this.call('extendLease', [ids, leaseMs])
  }

  complete(items: CompleteItem[]): Promise<void> {
    return this.call('complete', [items])
  }

  skip(items: SkipItem[]): Promise<void> {
    return this.call('skip', [items])
  }

  retryLater(items: RetryItem[]): Promise<void> {
    return this.call('retryLater', [items])
  }

  deadLetter(items: DeadLetterItem[]): Promise<void> {
    return this.call('deadLetter', [items])
  }

  replay(filter: ReplayFilter): Promise<number> {
    return this.call('replay', [filter])
  }

  expediteRetries(options: ExpediteOptions): Promise<number> {
    return this.call('expediteRetries', [options])
  }

  counts(): Promise<Counts> {
    return this.call('counts', [])
  }

  get(id: string): Promise<StoredEvent | null> {
    return this.call('get', [id])
  }

  list(query: ListQuery): Promise<StoredEvent[]> {
    return this.call('list', [query])
  }

  stats(query: StatsQuery): Promise<StatsBucket[]> {
    return this.call('stats', [query])
  }

  reasons(query?: ReasonsQuery): Promise<ReasonCount[]> {
    return this.call('reasons', [query])
  }

  latencyPercentile(p: number, since: Date, destination?: string): Promise<number | null> {
    return this.call('latencyPercentile', [p, since, destination])
  }

  linkIdentities(links: IdentityLink[]): Promise<void> {
    return this.call('linkIdentities', [links])
  }

  accountsFor(userKeys: string[]): Promise<Map<string, string>> {
    return this.call('accountsFor', [userKeys])
  }

  getMeta(key: string): Promise<string | null> {
    return this.call('getMeta', [key])
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.call('setMeta', [key, value])
  }

  setMetaIfAbsent(key: string, value: string): Promise<string> {
    return this.call('setMetaIfAbsent', [key, value])
  }

  admitNames(kind: string, names: string[], limit: number): Promise<NameAdmission> {
    return this.call('admitNames', [kind, names, limit])
  }

  listNames(kind: string): Promise<string[]> {
    return this.call('listNames', [kind])
  }

  prune(now?: Date): Promise<number> {
    return this.call('prune', [now])
  }

  createRegulation(regulation: NewRegulation): Promise<Regulation> {
    return this.call('createRegulation', [regulation])
  }

  getRegulation(id: string): Promise<Regulation | null> {
    return this.call('getRegulation', [id])
  }

  listRegulations(query?: { limit?: number; status?: RegulationStatus }): Promise<Regulation[]> {
    return this.call('listRegulations', [query])
  }

  updateRegulation(id: string, update: RegulationUpdate): Promise<void> {
    return this.call('updateRegulation', [id, update])
  }

  claimRegulations(owner: string, claimMs: number, limit: number): Promise<Regulation[]> {
    return this.call('claimRegulations', [owner, claimMs, limit])
  }

  renewRegulationClaim(id: string, owner: string, claimMs: number): Promise<boolean> {
    return this.call('renewRegulationClaim', [id, owner, claimMs])
  }

  releaseRegulationClaim(id: string, owner: string): Promise<boolean> {
    return this.call('releaseRegulationClaim', [id, owner])
  }

  suppress(userIds: string[], reason: string, owner?: string): Promise<SuppressResult> {
    return this.call('suppress', [userIds, reason, owner])
  }

  unsuppress(userIds: string[]): Promise<number> {
    return this.call('unsuppress', [userIds])
  }

  suppressedAmong(userIds: string[]): Promise<Set<string>> {
    return this.call('suppressedAmong', [userIds])
  }

  suppressedEvents(): Promise<number> {
    return this.call('suppressedEvents', [])
  }

  purgeUsers(userIds: string[], owner?: string): Promise<PurgeResult> {
    return this.call('purgeUsers', [userIds, owner])
  }

  /** Lets every submitted call finish (the thread closes after the writes before it), then ends the thread. */
  close(): Promise<void> {
    if (this.closing) return this.closing
    this.enqueues.send(true)
    this.admits.send(true)
    this.closing = this.rpc.close('close', [])
    return this.closing
  }
}
