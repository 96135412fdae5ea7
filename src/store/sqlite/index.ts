import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import type { ResolvedStoreOptions } from '../options'
import { parseId } from '../rows'
import type {
  CompleteItem, Counts, DeadLetterItem, EnqueueResult, IdentityLink, LeasedEvent, LeaseOptions, ListQuery, NameAdmission,
  NewEvent, QueuedSummary, ReasonCount, ReplayFilter, RetryItem, SkipItem, StatsBucket, StatsQuery, Store, StoredEvent
} from '../types'
import { Tally } from '../tally'
import { createContext, writeTallyNow, type SqliteContext } from './context'
import { enqueueEvents } from './enqueue'
import { countInbox, drainInbox, eventsOfInput, insertInboxRows, type DrainResult, type InboxInput } from './inbox'
import { isOpaqueBatch, isSerialisedEvents, serialiseEvents, type OpaqueBatch, type SerialisedEvents } from '../serialised'
import { QueuedListeners, summariseQueued } from '../queued'
import { extendLeases, leaseEvents } from './lease'
import { accountsFor, admitNames, getMeta, linkIdentities, listNames, setMeta, setMetaIfAbsent } from './identity'
import { pruneChunk } from './prune'
import { countEvents, getEvent, latencyPercentile, listEvents, reasons, stats } from './read'
import { replayEvents } from './replay'
import { migrate } from './schema'
import { completeEvents, deadLetterEvents, retryEvents, skipEvents } from './settle'
import { WalSync } from './wal-sync'
import { WriteQueue, type WriteOptions } from './write-queue'

/** Events one background move takes from the inbox at most (whole rows: a 2,500-event row moves alone). */
const DRAIN_SLICE_EVENTS = 5_000
/** A background move stops taking rows after this long (ms), so it holds up commits of new requests briefly. */
const DRAIN_SLICE_MS = 4
/** ... and after this long when no admit has arrived for BUSY_MS: fewer, larger commits while catching up. */
const DRAIN_QUIET_SLICE_MS = 25
/** An admit of at most this many events (per group) goes straight into the queue when the inbox is empty. */
const DIRECT_MAX_EVENTS = 200
/** More admitted events than this waiting, with admits still arriving, is a burst. */
const BURST_EVENTS = 5_000
/** An admit within this long (ms) means admits are still arriving. */
const BUSY_MS = 50
/** An inbox row older than this (ms) ends the yielding: under sustained load the move runs flat out. */
const MAX_YIELD_LAG_MS = 5_000
/** How often (ms) the WAL is copied back into the database after commits; during a burst, CHECKPOINT_BURST_EVERY_MS. */
const CHECKPOINT_EVERY_MS = 1_000
const CHECKPOINT_BURST_EVERY_MS = 5_000
/** After a failed move, the next try waits this long (ms). */
const DRAIN_RETRY_MS = 1_000

/**
 * The embedded engine: one better-sqlite3 connection in WAL mode; a write settles once its group
 * commit is on disk (synchronous=NORMAL plus an fdatasync of the WAL per group, wal-sync.ts).
 *
 * `admit` queues a small call inside its commit; a larger one (or any while rows wait) is
 * committed as one inbox row, and a background move (drainSlice) takes rows into the queue in
 * short slices. It runs flat out while the inbox is small, so at steady
 * rates events reach the queue within milliseconds. During a burst (more than BURST_EVENTS
 * waiting and requests still arriving) it waits, checking every BUSY_MS, so the burst is
 * accepted at the speed of the commit; once the oldest row has waited MAX_YIELD_LAG_MS it runs
 * flat out again, so under sustained load accepting and moving share the CPU. Every
 * verb that reads events or enqueues first moves the whole inbox, so readers and `enqueue` see
 * admitted events in order.
 */
export class SqliteStore implements Store {
  readonly engine = 'sqlite'
  readonly keepsOpaqueBatches = true
  private readonly ctx: SqliteContext
  private readonly writes: WriteQueue
  private readonly queued = new QueuedListeners()
  private readonly walSync: WalSync
  private closed = false
  private closing = false
  /** Committed inbox rows and events not yet moved (hints kept in memory: this connection commits them). */
  private inboxRows = 0
  private inboxEvents = 0
  private drainScheduled = false
  private lastAdmitAt = Number.NEGATIVE_INFINITY
  private nextAdmittedAt: number | null = null
  private lastCheckpointAt = performance.now()

  constructor(readonly file: string, options: ResolvedStoreOptions) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
    const db = new Database(file)
    try {
      if (file !== ':memory:') db.pragma('journal_mode = WAL')
      // NORMAL: commits write the WAL without syncing it; WalSync syncs it after each group
      // commit, off this thread, before any durable write settles (what FULL would do inline).
      db.pragma('synchronous = NORMAL')
      db.pragma('busy_timeout = 10000')
      // Checkpoints are the store's to run (checkpointIfDue), not every commit's chance.
      db.pragma('wal_autocheckpoint = 0')
      // After a checkpoint, a WAL that grew during a burst is cut back to this size.
      db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`)
      migrate(db)
    } catch (error) {
      db.close()
      throw error
    }
    this.walSync = new WalSync(file === ':memory:' ? null : `${path.resolve(file)}-wal`)
    this.ctx = createContext(db, options)
    const ctx = this.ctx
    this.writes = new WriteQueue(db, {
      begin() {
        ctx.groupTally = new Tally()
      },
      end() {
        const tally = ctx.groupTally
        ctx.groupTally = null
        if (tally) writeTallyNow(ctx, tally)
      },
      committed: () => this.checkpointIfDue()
    }, this.walSync)
    const inbox = countInbox(this.ctx)
    this.inboxRows = inbox.rows
    this.inboxEvents = inbox.events
    this.nextAdmittedAt = inbox.oldestAt
    this.scheduleDrain()
  }

  get enqueueTransactions(): number {
    return this.writes.enqueueTransactions
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

  async enqueue(events: NewEvent[]): Promise<EnqueueResult[]> {
    if (events.length === 0) return []
    // Admitted events first, so ids (and per-key order) follow the order of the calls.
    const { drained, results } = await this.write(
      () => ({ drained: this.inboxRows > 0 ? drainInbox(this.ctx, Infinity) : null, results: enqueueEvents(this.ctx, events) }),
      { enqueue: true }
    )
    if (drained) this.afterDrain(drained)
    return results
  }

  async admit(events: NewEvent[] | SerialisedEvents | OpaqueBatch): Promise<void> {
    const row = isSerialisedEvents(events) || isOpaqueBatch(events) ? events : serialiseEvents(events)
    if (row.n === 0) return
    await this.admitRows([row])
  }

  /**
   * Commits each call's events: straight into the queue when the inbox is empty and the group is
   * small (the commit then costs little more than the inbox row would), else as one inbox row
   * per call, moved into the queue in the background. The worker-thread host sends them
   * serialised, several calls at a time.
   */
  async admitRows(rows: InboxInput[]): Promise<void> {
    if (rows.length === 0) return
    let events = 0
    for (const row of rows) events += row.n
    const queued = await this.write(() => {
      if (this.inboxRows <= 0 && events <= DIRECT_MAX_EVENTS) {
        const expanded = rows.flatMap((row) => eventsOfInput(this.ctx, row))
        const results = enqueueEvents(this.ctx, expanded)
        return summariseQueued(expanded.map((e) => e.type), results)
      }
      insertInboxRows(this.ctx, rows)
      // Counted here, inside the transaction, so a direct enqueue later in the same group sees them.
      this.inboxRows += rows.length
      this.inboxEvents += events
      return null
    })
    if (queued) {
      this.queued.emit(queued)
      return
    }
    this.lastAdmitAt = performance.now()
    this.nextAdmittedAt ??= this.ctx.options.now()
    this.scheduleDrain()
  }

  onQueued(listener: (summary: QueuedSummary) => void): () => void {
    return this.queued.add(listener)
  }

  /**
   * Copies the WAL back into the database every CHECKPOINT_EVERY_MS, and during a burst only
   * every CHECKPOINT_BURST_EVERY_MS, so the commits that answer requests go first. (SQLite's own
   * automatic checkpoint would run inside whichever commit crossed its threshold.)
   */
  private checkpointIfDue(): void {
    if (this.file === ':memory:') return
    const now = performance.now()
    const burst = this.inBurst(now)
    if (now - this.lastCheckpointAt < (burst ? CHECKPOINT_BURST_EVERY_MS : CHECKPOINT_EVERY_MS)) return
    this.checkpoint(now)
  }

  private checkpoint(now = performance.now()): void {
    if (this.file === ':memory:') return
    this.lastCheckpointAt = now
    try {
      this.ctx.db.pragma('wal_checkpoint(PASSIVE)')
    } catch {
      // Busy (another connection) or failing: a later commit tries again.
    }
  }

  private afterDrain(result: DrainResult): void {
    this.inboxRows -= result.rows
    this.inboxEvents -= result.moved
    // Nothing left: the hints are exact again (a rolled-back admit may have counted rows never committed).
    if (result.nextAdmittedAt === null) this.inboxRows = this.inboxEvents = 0
    this.nextAdmittedAt = result.nextAdmittedAt
    this.queued.emit(result.summary)
  }

  /** More than BURST_EVENTS admitted and waiting, and admits still arriving. */
  private inBurst(now = performance.now()): boolean {
    return this.inboxEvents > BURST_EVENTS && now - this.lastAdmitAt < BUSY_MS
  }

  /** The oldest inbox row has waited longer than MAX_YIELD_LAG_MS. */
  private lagging(): boolean {
    return this.nextAdmittedAt !== null && this.ctx.options.now() - this.nextAdmittedAt > MAX_YIELD_LAG_MS
  }

  private scheduleDrain(delayMs?: number): void {
    if (this.drainScheduled || this.closing || this.inboxRows <= 0) return
    this.drainScheduled = true
    const run = () => void this.drainSlice()
    const wait = delayMs ?? (this.inBurst() && !this.lagging() ? BUSY_MS : undefined)
    // Not unref'd: an unref'd immediate does not keep the loop from blocking in poll until the
    // next timer or I/O. The chain ends when the inbox is empty or the store closes.
    if (wait === undefined) setImmediate(run)
    else setTimeout(run, wait).unref()
  }

  /** One background move of up to DRAIN_SLICE_EVENTS events, then the next is scheduled. */
  private async drainSlice(): Promise<void> {
    if (this.inBurst() && !this.lagging()) {
      // Still a burst: look again later.
      this.drainScheduled = false
      this.scheduleDrain()
      return
    }
    let retryIn: number | undefined
    try {
      const quiet = performance.now() - this.lastAdmitAt >= BUSY_MS
      const sliceMs = quiet ? DRAIN_QUIET_SLICE_MS : DRAIN_SLICE_MS
      const result = await this.write(() => drainInbox(this.ctx, quiet ? Infinity : DRAIN_SLICE_EVENTS, performance.now() + sliceMs), { durable: false })
      this.afterDrain(result)
      // The inbox is empty: copy what the move wrote back into the database now, while nothing
      // waits, rather than in the first commits of the next burst.
      if (result.nextAdmittedAt === null) this.checkpoint()
    } catch {
      // Closed, or the database failed: the rows stay in the inbox and the move tries again.
      retryIn = DRAIN_RETRY_MS
    } finally {
      this.drainScheduled = false
    }
    this.scheduleDrain(retryIn)
  }

  /** Moves the whole inbox now (readers call this first, to see every admitted event). */
  private async flushInbox(): Promise<void> {
    if (this.inboxRows <= 0 || this.closed) return
    this.afterDrain(await this.write(() => drainInbox(this.ctx, Infinity), { durable: false }))
  }

  async lease(options: LeaseOptions): Promise<LeasedEvent[]> {
    return this.write(() => leaseEvents(this.ctx, options))
  }

  async extendLease(ids: string[], leaseMs: number): Promise<void> {
    const numeric = ids.map(parseId).filter((id): id is number => id !== null)
    if (numeric.length > 0) await this.write(() => extendLeases(this.ctx, numeric, leaseMs))
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

  async counts(): Promise<Counts> {
    return this.read(() => countEvents(this.ctx))
  }

  async get(id: string): Promise<StoredEvent | null> {
    await this.flushInbox()
    return this.read(() => getEvent(this.ctx, id))
  }

  async list(query: ListQuery): Promise<StoredEvent[]> {
    await this.flushInbox()
    return this.read(() => listEvents(this.ctx, query))
  }

  async stats(query: StatsQuery): Promise<StatsBucket[]> {
    await this.flushInbox()
    return this.read(() => stats(this.ctx, query))
  }

  async reasons(): Promise<ReasonCount[]> {
    await this.flushInbox()
    return this.read(() => reasons(this.ctx))
  }

  async latencyPercentile(p: number, since: Date): Promise<number | null> {
    await this.flushInbox()
    return this.read(() => latencyPercentile(this.ctx, p, since))
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

  /** In chunks, one transaction each, so ingest and delivery keep going while it runs. */
  async prune(now?: Date): Promise<number> {
    const at = now?.getTime() ?? this.ctx.options.now()
    let total = 0
    for (let first = true; ; first = false) {
      const { deleted, more } = await this.write(() => pruneChunk(this.ctx, at, first))
      total += deleted
      if (!more) return total
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closing = true
    await this.writes.drain()
    await this.walSync.close()
    this.closed = true
    this.ctx.db.close()
  }
}
