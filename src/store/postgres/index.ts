import pg, { type Pool } from 'pg'
import { GroupCommit } from '../group-commit'
import type { ResolvedStoreOptions } from '../options'
import { checkUserIds } from '../regulations'
import { fromComplete, fromDeadLetter, fromRetry, fromSkip } from '../settlement'
import type {
  CompleteItem, Counts, DeadLetterItem, EnqueueResult, ExpediteOptions, IdentityLink, LeasedEvent, LeaseOptions, ListQuery, NameAdmission,
  NewEvent, NewRegulation, LeasesTaken, PurgeResult, QueuedSummary, SuppressResult, ReasonCount, ReasonsQuery, Regulation, RegulationStatus, RegulationUpdate, ReplayFilter,
  RetryItem, SkipItem, StatsBucket, StatsQuery, Store, StoredEvent
} from '../types'
import { QueuedListeners, summariseQueued } from '../queued'
import type { OpaqueBatch, SerialisedEvents } from '../serialised'
import { enqueueEvents } from './enqueue'
import { expediteRetries } from './expedite'
import { extendLeases, leaseEvents } from './lease'
import { eventsOfAdmit } from './admit'
import { accountsFor, linkIdentities } from './identity'
import { getMeta, setMeta, setMetaIfAbsent } from './meta'
import { admitNames, listNames } from './names'
import { pruneChunk } from './prune'
import { clearSamples, purgeChunk, PURGE_CHUNK, rowsOfUsers, unlinkIdentities } from './purge'
import { claimRegulations, createRegulation, getRegulation, listRegulations, releaseRegulationClaim, renewRegulationClaim, updateRegulation } from './regulations'
import { addSuppressed, closeDeadLetters, removeSuppressed, skipSuppressed, suppressedAmong, suppressedEvents } from './suppress'
import { countEvents, getEvent, latencyPercentile, listEvents, reasons, stats } from './read'
import { replayEvents } from './replay'
import { checkSchemaName, migrate, quoteIdent } from './schema'
import { settle } from './settle'
import { queryable, type Queryable } from './context'
import { once, transaction, vacuumHotTables } from './transactions'

/** bigint and count(*) arrive as numbers (ids and ms times stay far below 2^53). */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 && format !== 'binary') return (value: string) => Number(value)
    return pg.types.getTypeParser(oid, format)
  }
} as pg.CustomTypesConfig

/** How often one instance vacuums the hot queue tables (autovacuum wakes only once a minute). */
const VACUUM_EVERY_MS = 15_000

/** The shared engine: a `pg` pool; many relay instances may use one database. */
export class PostgresStore implements Store {
  readonly engine = 'postgres'
  private readonly group: GroupCommit
  private transactions = 0
  private closed = false
  private readonly vacuumTimer: NodeJS.Timeout
  private readonly q: Queryable

  private constructor(private readonly pool: Pool, private readonly options: ResolvedStoreOptions, private readonly schema: string) {
    this.q = queryable(pool)
    this.vacuumTimer = setInterval(() => void this.vacuumHotTables(), VACUUM_EVERY_MS)
    this.vacuumTimer.unref()
    this.group = new GroupCommit(async (events) => {
      const results = await this.once(() => enqueueEvents(this.q, this.options, events))
      this.transactions++
      return results
    })
  }

  static async open(url: string, options: ResolvedStoreOptions): Promise<PostgresStore> {
    const schema = checkSchemaName(options.schema ?? 'public')
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize,
      types,
      options: `-c search_path=${quoteIdent(schema)}`
    })
    // An idle connection that breaks (server restart) must not crash the process; the next query reports it.
    pool.on('error', () => undefined)
    try {
      const client = await pool.connect()
      try {
        await migrate(client, schema)
      } finally {
        client.release()
      }
    } catch (error) {
      await pool.end().catch(() => undefined)
      throw error
    }
    return new PostgresStore(pool, options, schema)
  }

  private async vacuumHotTables(): Promise<void> {
    if (!this.closed) await vacuumHotTables(this.pool, this.schema)
  }

  get enqueueTransactions(): number {
    return this.transactions
  }

  /** Runs a single-statement operation (atomic by itself), again after a deadlock. */
  private once<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    return once(fn)
  }

  /** Runs `fn` in a transaction, again from the start after a deadlock or serialization failure. */
  private tx<T>(fn: (client: Queryable) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    return transaction(this.pool, fn)
  }

  private get db(): Queryable {
    if (this.closed) throw new Error('store is closed')
    return this.q
  }

  enqueue(events: NewEvent[]): Promise<EnqueueResult[]> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    return this.group.submit(events)
  }

  private readonly queued = new QueuedListeners()
  readonly keepsOpaqueBatches = false

  /** Queues at once (group-committed like `enqueue`): several instances share this database, so there is no local inbox. */
  async admit(batch: NewEvent[] | SerialisedEvents | OpaqueBatch): Promise<void> {
    const events = eventsOfAdmit(batch, this.options)
    const results = await this.enqueue(events)
    this.queued.emit(summariseQueued(events.map((e) => e.type), results))
  }

  onQueued(listener: (summary: QueuedSummary) => void): () => void {
    return this.queued.add(listener)
  }

  lease(options: LeaseOptions): Promise<LeasedEvent[]> {
    return this.once(() => leaseEvents(this.q, this.options, options))
  }

  async extendLease(ids: string[], leaseMs: number): Promise<string[]> {
    return this.once(() => extendLeases(this.q, this.options, ids, leaseMs))
  }

  async complete(items: CompleteItem[]): Promise<void> {
    if (items.length > 0) await this.tx((client) => settle(client, this.options, fromComplete(items)))
  }

  async skip(items: SkipItem[]): Promise<void> {
    if (items.length > 0) await this.tx((client) => settle(client, this.options, fromSkip(items)))
  }

  async retryLater(items: RetryItem[]): Promise<void> {
    if (items.length > 0) await this.tx((client) => settle(client, this.options, fromRetry(items)))
  }

  async deadLetter(items: DeadLetterItem[]): Promise<void> {
    if (items.length > 0) await this.tx((client) => settle(client, this.options, fromDeadLetter(items)))
  }

  replay(filter: ReplayFilter): Promise<number> {
    return this.tx((client) => replayEvents(client, this.options, filter))
  }

  expediteRetries(options: ExpediteOptions): Promise<number> {
    return this.tx((client) => expediteRetries(client, this.options, options))
  }

  counts(): Promise<Counts> {
    return countEvents(this.db, this.options)
  }

  get(id: string): Promise<StoredEvent | null> {
    return getEvent(this.db, id)
  }

  list(query: ListQuery): Promise<StoredEvent[]> {
    return listEvents(this.db, query)
  }

  stats(query: StatsQuery): Promise<StatsBucket[]> {
    return stats(this.db, query)
  }

  reasons(query?: ReasonsQuery): Promise<ReasonCount[]> {
    return reasons(this.db, query)
  }

  latencyPercentile(p: number, since: Date, destination?: string): Promise<number | null> {
    return latencyPercentile(this.db, p, since, destination)
  }

  async linkIdentities(links: IdentityLink[]): Promise<void> {
    if (links.length > 0) await this.tx((client) => linkIdentities(client, this.options, links))
  }

  accountsFor(userKeys: string[]): Promise<Map<string, string>> {
    return accountsFor(this.db, userKeys)
  }

  getMeta(key: string): Promise<string | null> {
    return getMeta(this.db, key)
  }

  setMeta(key: string, value: string): Promise<void> {
    return setMeta(this.db, key, value)
  }

  setMetaIfAbsent(key: string, value: string): Promise<string> {
    return setMetaIfAbsent(this.db, key, value)
  }

  admitNames(kind: string, names: string[], limit: number): Promise<NameAdmission> {
    return this.tx((client) => admitNames(client, kind, names, limit, this.options.now()))
  }

  listNames(kind: string): Promise<string[]> {
    return listNames(this.db, kind)
  }

  /** In chunks, one transaction each, so no transaction holds many row locks for long. */
  async prune(now?: Date): Promise<number> {
    const at = now?.getTime() ?? this.options.now()
    let total = 0
    for (let first = true; ; first = false) {
      const { deleted, more } = await this.tx((client) => pruneChunk(client, this.options, at, first))
      total += deleted
      if (!more) return total
    }
  }

  createRegulation(regulation: NewRegulation): Promise<Regulation> {
    return this.once(() => createRegulation(this.q, this.options, regulation))
  }

  getRegulation(id: string): Promise<Regulation | null> {
    return getRegulation(this.db, id)
  }

  listRegulations(query?: { limit?: number; status?: RegulationStatus }): Promise<Regulation[]> {
    return listRegulations(this.db, query)
  }

  updateRegulation(id: string, update: RegulationUpdate): Promise<void> {
    return this.tx((client) => updateRegulation(client, this.options, id, update))
  }

  claimRegulations(owner: string, claimMs: number, limit: number): Promise<Regulation[]> {
    return this.once(() => claimRegulations(this.q, this.options, owner, claimMs, limit))
  }

  renewRegulationClaim(id: string, owner: string, claimMs: number): Promise<boolean> {
    return this.once(() => renewRegulationClaim(this.q, this.options, id, owner, claimMs))
  }

  releaseRegulationClaim(id: string, owner: string): Promise<boolean> {
    return this.once(() => releaseRegulationClaim(this.q, id, owner))
  }

  /** The ids in first (suppress.ts says why under a lock), then the users' dead letters and unfinished rows skipped. */
  async suppress(userIds: string[], reason: string, owner?: string): Promise<SuppressResult> {
    const ids = checkUserIds(userIds)
    if (ids.length === 0) return { added: 0 }
    const added = await this.tx((client) => addSuppressed(client, this.options, ids))
    await this.tx((client) => closeDeadLetters(client, this.options, ids, reason))
    const taken: LeasesTaken = {}
    await this.tx((client) => skipSuppressed(client, this.options, ids, reason, owner, taken))
    return { added, ...taken }
  }

  unsuppress(userIds: string[]): Promise<number> {
    return this.once(() => removeSuppressed(this.q, userIds))
  }

  suppressedAmong(userIds: string[]): Promise<Set<string>> {
    return suppressedAmong(this.db, userIds)
  }

  suppressedEvents(): Promise<number> {
    return suppressedEvents(this.db)
  }

  /** One scan for the rows, deleted in chunks of a transaction each (purge.ts). */
  async purgeUsers(userIds: string[], owner?: string): Promise<PurgeResult> {
    const users = checkUserIds(userIds)
    if (users.length === 0) return { events: 0, admittedEvents: 0, identityLinks: 0 }
    const ids = await rowsOfUsers(this.db, users)
    const linkKeys = new Set<string>()
    const taken: LeasesTaken = {}
    let events = 0
    for (let at = 0; at < ids.length; at += PURGE_CHUNK) {
      const chunk = ids.slice(at, at + PURGE_CHUNK)
      events += await this.tx((client) => purgeChunk(client, this.options, chunk, linkKeys, owner, taken))
    }
    const identityLinks = await this.once(() => unlinkIdentities(this.q, [...users, ...linkKeys]))
    await this.once(() => clearSamples(this.q, users))
    return { events, admittedEvents: 0, identityLinks, ...taken }
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.group.drain()
    this.closed = true
    clearInterval(this.vacuumTimer)
    await this.pool.end()
  }
}
