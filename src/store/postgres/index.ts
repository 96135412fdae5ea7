import pg, { type Pool, type PoolClient } from 'pg'
import { GroupCommit } from '../group-commit'
import type { ResolvedStoreOptions } from '../options'
import { parseId } from '../rows'
import { fromComplete, fromDeadLetter, fromRetry, fromSkip } from '../settlement'
import type {
  CompleteItem, Counts, DeadLetterItem, EnqueueResult, ExpediteOptions, IdentityLink, LeasedEvent, LeaseOptions, ListQuery, NameAdmission,
  NewEvent, QueuedSummary, ReasonCount, ReasonsQuery, ReplayFilter, RetryItem, SkipItem, StatsBucket, StatsQuery, Store, StoredEvent
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
import { countEvents, getEvent, latencyPercentile, listEvents, reasons, stats } from './read'
import { replayEvents } from './replay'
import { checkSchemaName, migrate, quoteIdent } from './schema'
import { settle } from './settle'
import { queryable, type Queryable } from './context'

/** bigint and count(*) arrive as numbers (ids and ms times stay far below 2^53). */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 && format !== 'binary') return (value: string) => Number(value)
    return pg.types.getTypeParser(oid, format)
  }
} as pg.CustomTypesConfig

/** SQLSTATEs after which a transaction is simply run again: deadlock, serialization failure. */
const RETRYABLE = new Set(['40P01', '40001'])
const MAX_TRIES = 5
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

  /**
   * Key rows are rewritten by every lease and outcome; dead versions slow the lease scan until
   * vacuumed. One instance at a time (advisory lock) vacuums them; failures wait for next time.
   */
  private async vacuumHotTables(): Promise<void> {
    if (this.closed) return
    let client: PoolClient | undefined
    try {
      client = await this.pool.connect()
      const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext('csb-relay:vacuum:' || $1)) AS ok`, [this.schema])
      if (!rows[0].ok) return
      try {
        await client.query('VACUUM (ANALYZE) queue_keys, totals')
      } finally {
        await client.query(`SELECT pg_advisory_unlock(hashtext('csb-relay:vacuum:' || $1))`, [this.schema])
      }
    } catch {
      // Not the owner, or the database is away: autovacuum still runs.
    } finally {
      client?.release()
    }
  }

  get enqueueTransactions(): number {
    return this.transactions
  }

  /** Runs a single-statement operation (atomic by itself), again after a deadlock. */
  private async once<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed')
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn()
      } catch (error) {
        const code = (error as { code?: string }).code
        if (code !== undefined && RETRYABLE.has(code) && attempt < MAX_TRIES) continue
        throw error
      }
    }
  }

  /** Runs `fn` in a transaction, again from the start after a deadlock or serialization failure. */
  private async tx<T>(fn: (client: Queryable) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed')
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect()
      let broken = false
      try {
        await client.query('BEGIN')
        const result = await fn(queryable(client))
        await client.query('COMMIT')
        return result
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true
        })
        const code = (error as { code?: string }).code
        if (code !== undefined && RETRYABLE.has(code) && attempt < MAX_TRIES) continue
        throw error
      } finally {
        client.release(broken)
      }
    }
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

  async extendLease(ids: string[], leaseMs: number): Promise<void> {
    const numeric = ids.map(parseId).filter((id): id is number => id !== null)
    if (numeric.length > 0) await this.once(() => extendLeases(this.q, this.options, numeric, leaseMs))
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

  async close(): Promise<void> {
    if (this.closed) return
    await this.group.drain()
    this.closed = true
    clearInterval(this.vacuumTimer)
    await this.pool.end()
  }
}
