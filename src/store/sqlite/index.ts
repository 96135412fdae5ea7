import type { ResolvedStoreOptions } from '../options'
import { parseId } from '../rows'
import { checkUserIds } from '../regulations'
import type {
  CompleteItem, Counts, DeadLetterItem, EnqueueResult, ExpediteOptions, IdentityLink, LeasedEvent, LeaseOptions, ListQuery, NameAdmission,
  NewEvent, NewRegulation, PurgeResult, QueuedSummary, SuppressResult, ReasonCount, ReasonsQuery, Regulation, RegulationStatus, RegulationUpdate, ReplayFilter,
  RetryItem, SkipItem, StatsBucket, StatsQuery, Store, StoredEvent
} from '../types'
import { Tally } from '../tally'
import { isOpaqueBatch, isSerialisedEvents, serialiseEvents, type OpaqueBatch, type SerialisedEvents } from '../serialised'
import { QueuedListeners } from '../queued'
import { Admitter } from './admit'
import { Checkpoints } from './checkpoint'
import { createContext, writeTallyNow, type SqliteContext } from './context'
import { enqueueEvents } from './enqueue'
import { eraseDeleted } from './erase'
import { expediteRetries } from './expedite'
import type { InboxInput } from './inbox'
import { extendLeases, leaseEvents } from './lease'
import { accountsFor, linkIdentities } from './identity'
import { getMeta, setMeta, setMetaIfAbsent } from './meta'
import { admitNames, listNames } from './names'
import { openDatabase, walFileOf } from './open'
import { prune } from './prune'
import { purgeUsers } from './purge'
import { countEvents, getEvent, latencyPercentile, listEvents, reasons, stats } from './read'
import { replayEvents } from './replay'
import {
  claimRegulations, createRegulation, getRegulation, listRegulations, releaseRegulationClaim, renewRegulationClaim, updateRegulation
} from './regulations'
import { completeEvents, deadLetterEvents, retryEvents, skipEvents } from './settle'
import { suppressedAmong, suppressUsers, unsuppressUsers } from './suppress'
import { WalSync } from './wal-sync'
import { WriteQueue, type WriteOptions } from './write-queue'

/**
 * The embedded engine: one better-sqlite3 connection in WAL mode; a write settles once its group
 * commit is on disk (synchronous=NORMAL plus an fdatasync of the WAL per group, wal-sync.ts).
 * `admit` commits to the inbox and a background move takes events into the queue
 * (admit.ts); the engine runs its own WAL checkpoints (checkpoint.ts). Every verb that
 * reads events or enqueues first moves the whole inbox, so readers and `enqueue` see admitted
 * events in order.
 */
export class SqliteStore implements Store {
  readonly engine = 'sqlite'
  readonly keepsOpaqueBatches = true
  private readonly ctx: SqliteContext
  private readonly writes: WriteQueue
  private readonly queued = new QueuedListeners()
  private readonly walSync: WalSync
  private readonly checkpoints: Checkpoints
  private readonly inbox: Admitter
  private closed = false

  constructor(readonly file: string, options: ResolvedStoreOptions) {
    const db = openDatabase(file)
    this.walSync = new WalSync(walFileOf(file))
    this.ctx = createContext(db, options)
    const ctx = this.ctx
    this.checkpoints = new Checkpoints(db, file === ':memory:', (now) => this.inbox.inBurst(now))
    this.writes = new WriteQueue(db, {
      begin() {
        ctx.groupTally = new Tally()
      },
      end() {
        const tally = ctx.groupTally
        ctx.groupTally = null
        if (tally) writeTallyNow(ctx, tally)
      },
      committed: () => this.checkpoints.ifDue()
    }, this.walSync)
    this.inbox = new Admitter(ctx, (fn, writeOptions) => this.write(fn, writeOptions), this.queued, this.checkpoints)
  }

  get enqueueTransactions(): number {
    return this.writes.enqueueTransactions
  }

  /** Failed moves of admitted events into the queue, and inbox rows kept as dead letters (each is logged). */
  get inboxErrors(): number {
    return this.inbox.errors
  }

  /**
   * Runs `fn` in the next group transaction (IMMEDIATE: takes the write lock up front, so two
   * connections never deadlock upgrading a read lock). Resolves after that transaction commits.
   */
  private write<T>(fn: () => T, options?: WriteOptions): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    return this.writes.submit(fn, options)
  }

  private read<T>(fn: () => T): T {
    if (this.closed) throw new Error('store is closed')
    return fn()
  }

  /** Reads of events see every admitted event: the inbox is moved first. */
  private async readEvents<T>(fn: () => T): Promise<T> {
    if (!this.closed) await this.inbox.flush()
    return this.read(fn)
  }

  async enqueue(events: NewEvent[]): Promise<EnqueueResult[]> {
    if (events.length === 0) return []
    // Admitted events first, so ids (and per-key order) follow the order of the calls.
    const { drained, results } = await this.write(
      () => ({ drained: this.inbox.moveAllNow(), results: enqueueEvents(this.ctx, events) }),
      { enqueue: true }
    )
    if (drained) this.inbox.moved(drained)
    return results
  }

  async admit(events: NewEvent[] | SerialisedEvents | OpaqueBatch): Promise<void> {
    const row = isSerialisedEvents(events) || isOpaqueBatch(events) ? events : serialiseEvents(events)
    if (row.n === 0) return
    await this.inbox.admit([row])
  }

  /** Several `admit` calls' rows at once (the worker-thread host sends them serialised, several calls at a time). */
  admitRows(rows: InboxInput[]): Promise<void> {
    return this.inbox.admit(rows)
  }

  onQueued(listener: (summary: QueuedSummary) => void): () => void {
    return this.queued.add(listener)
  }

  async lease(options: LeaseOptions): Promise<LeasedEvent[]> {
    return this.write(() => leaseEvents(this.ctx, options))
  }

  async extendLease(ids: string[], leaseMs: number): Promise<string[]> {
    const numeric = ids.map(parseId).filter((id): id is number => id !== null)
    if (numeric.length === 0) return []
    return (await this.write(() => extendLeases(this.ctx, numeric, leaseMs))).map(String)
  }

  async complete(items: CompleteItem[]): Promise<void> {
    if (items.length > 0) await this.write(() => completeEvents(this.ctx, items))
  }

  async skip(items: SkipItem[]): Promise<void> {
    if (items.length > 0) await this.write(() => skipEvents(this.ctx, items))
  }

  async retryLater(items: RetryItem[]): Promise<void> {
    if (items.length > 0) await this.write(() => retryEvents(this.ctx, items))
  }

  async deadLetter(items: DeadLetterItem[]): Promise<void> {
    if (items.length > 0) await this.write(() => deadLetterEvents(this.ctx, items))
  }

  async replay(filter: ReplayFilter): Promise<number> {
    return this.write(() => replayEvents(this.ctx, filter))
  }

  async expediteRetries(options: ExpediteOptions): Promise<number> {
    return this.write(() => expediteRetries(this.ctx, options))
  }

  async counts(): Promise<Counts> {
    return this.read(() => countEvents(this.ctx))
  }

  get(id: string): Promise<StoredEvent | null> {
    return this.readEvents(() => getEvent(this.ctx, id))
  }

  list(query: ListQuery): Promise<StoredEvent[]> {
    return this.readEvents(() => listEvents(this.ctx, query))
  }

  stats(query: StatsQuery): Promise<StatsBucket[]> {
    return this.readEvents(() => stats(this.ctx, query))
  }

  reasons(query?: ReasonsQuery): Promise<ReasonCount[]> {
    return this.readEvents(() => reasons(this.ctx, query))
  }

  latencyPercentile(p: number, since: Date, destination?: string): Promise<number | null> {
    return this.readEvents(() => latencyPercentile(this.ctx, p, since, destination))
  }

  async linkIdentities(links: IdentityLink[]): Promise<void> {
    if (links.length > 0) await this.write(() => linkIdentities(this.ctx, links))
  }

  async accountsFor(userKeys: string[]): Promise<Map<string, string>> {
    return this.read(() => accountsFor(this.ctx, userKeys))
  }

  async getMeta(key: string): Promise<string | null> {
    return this.read(() => getMeta(this.ctx, key))
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.write(() => setMeta(this.ctx, key, value))
  }

  async setMetaIfAbsent(key: string, value: string): Promise<string> {
    return this.write(() => setMetaIfAbsent(this.ctx, key, value))
  }

  async admitNames(kind: string, names: string[], limit: number): Promise<NameAdmission> {
    return this.write(() => admitNames(this.ctx, kind, names, limit))
  }

  async listNames(kind: string): Promise<string[]> {
    return this.read(() => listNames(this.ctx, kind))
  }

  /** In chunks, then the erasure of what they deleted from the files (prune.ts). */
  async prune(now?: Date): Promise<number> {
    return prune(this.ctx, (fn, options) => this.write(fn, options), now?.getTime() ?? this.ctx.options.now(), this.file === ':memory:')
  }

  async createRegulation(regulation: NewRegulation): Promise<Regulation> {
    return this.write(() => createRegulation(this.ctx, regulation))
  }

  async getRegulation(id: string): Promise<Regulation | null> {
    return this.read(() => getRegulation(this.ctx, id))
  }

  async listRegulations(query?: { limit?: number; status?: RegulationStatus }): Promise<Regulation[]> {
    return this.read(() => listRegulations(this.ctx, query))
  }

  async updateRegulation(id: string, update: RegulationUpdate): Promise<void> {
    await this.write(() => updateRegulation(this.ctx, id, update))
  }

  async claimRegulations(owner: string, claimMs: number, limit: number): Promise<Regulation[]> {
    return this.write(() => claimRegulations(this.ctx, owner, claimMs, limit))
  }

  async renewRegulationClaim(id: string, owner: string, claimMs: number): Promise<boolean> {
    return this.write(() => renewRegulationClaim(this.ctx, id, owner, claimMs))
  }

  async releaseRegulationClaim(id: string, owner: string): Promise<boolean> {
    return this.write(() => releaseRegulationClaim(this.ctx, id, owner))
  }

  async suppress(userIds: string[], reason: string, owner?: string): Promise<SuppressResult> {
    return this.write(() => suppressUsers(this.ctx, userIds, reason, owner))
  }

  async unsuppress(userIds: string[]): Promise<number> {
    return this.write(() => unsuppressUsers(this.ctx, userIds))
  }

  async suppressedAmong(userIds: string[]): Promise<Set<string>> {
    return this.read(() => suppressedAmong(this.ctx, userIds))
  }

  async suppressedEvents(): Promise<number> {
    return this.read(() => this.ctx.suppression.dropped())
  }

  /** One write, then the erasure of what it deleted from the files (erase.ts), which holds up other writes while it runs. */
  async purgeUsers(userIds: string[], owner?: string): Promise<PurgeResult> {
    const users = checkUserIds(userIds)
    let result: PurgeResult = { events: 0, admittedEvents: 0, identityLinks: 0 }
    if (users.length > 0) {
      const { inboxRows, ...counts } = await this.write(() => purgeUsers(this.ctx, users, owner))
      this.inbox.purged(inboxRows, counts.admittedEvents)
      result = counts
    }
    await eraseDeleted(this.ctx, (fn, options) => this.write(fn, options), this.file === ':memory:', { what: 'the purge', retry: 'run the regulation again' })
    return result
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.inbox.close()
    await this.writes.drain()
    await this.walSync.close()
    this.closed = true
    this.ctx.db.close()
  }
}
