import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import type { ResolvedStoreOptions } from '../options'
import { parseId } from '../rows'
import type {
  CompleteItem, Counts, DeadLetterItem, EnqueueResult, IdentityLink, LeasedEvent, LeaseOptions, ListQuery,
  NewEvent, ReasonCount, ReplayFilter, RetryItem, SkipItem, StatsBucket, StatsQuery, Store, StoredEvent
} from '../types'
import { Tally } from '../tally'
import { createContext, writeTallyNow, type SqliteContext } from './context'
import { enqueueEvents } from './enqueue'
import { extendLeases, leaseEvents } from './lease'
import { accountsFor, getMeta, linkIdentities, setMeta } from './identity'
import { pruneChunk } from './prune'
import { countEvents, getEvent, latencyPercentile, listEvents, reasons, stats } from './read'
import { replayEvents } from './replay'
import { migrate } from './schema'
import { completeEvents, deadLetterEvents, retryEvents, skipEvents } from './settle'
import { WriteQueue } from './write-queue'

/** The embedded engine: one better-sqlite3 connection, WAL, synchronous=FULL. */
export class SqliteStore implements Store {
  readonly engine = 'sqlite'
  private readonly ctx: SqliteContext
  private readonly writes: WriteQueue
  private closed = false

  constructor(readonly file: string, options: ResolvedStoreOptions) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
    const db = new Database(file)
    try {
      if (file !== ':memory:') db.pragma('journal_mode = WAL')
      // FULL: the WAL is synced at every commit, so an acknowledged event survives power loss.
      db.pragma('synchronous = FULL')
      db.pragma('busy_timeout = 10000')
      migrate(db)
    } catch (error) {
      db.close()
      throw error
    }
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
      }
    })
  }

  get enqueueTransactions(): number {
    return this.writes.enqueueTransactions
  }

  /**
   * Runs `fn` in the next group transaction (IMMEDIATE: takes the write lock up front, so two
   * connections never deadlock upgrading a read lock). Resolves after that transaction commits.
   */
  private write<T>(fn: () => T, isEnqueue = false): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    return this.writes.submit(fn, isEnqueue)
  }

  private read<T>(fn: () => T): T {
    if (this.closed) throw new Error('store is closed')
    return fn()
  }

  async enqueue(events: NewEvent[]): Promise<EnqueueResult[]> {
    if (events.length === 0) return []
    return this.write(() => enqueueEvents(this.ctx, events), true)
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
    return this.read(() => getEvent(this.ctx, id))
  }

  async list(query: ListQuery): Promise<StoredEvent[]> {
    return this.read(() => listEvents(this.ctx, query))
  }

  async stats(query: StatsQuery): Promise<StatsBucket[]> {
    return this.read(() => stats(this.ctx, query))
  }

  async reasons(): Promise<ReasonCount[]> {
    return this.read(() => reasons(this.ctx))
  }

  async latencyPercentile(p: number, since: Date): Promise<number | null> {
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
    await this.writes.drain()
    this.closed = true
    this.ctx.db.close()
  }
}
