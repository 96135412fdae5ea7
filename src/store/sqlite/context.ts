import type Database from 'better-sqlite3'
import type { ResolvedStoreOptions } from '../options'
import { EVENT_COLUMNS, type EventRow } from '../rows'
import { Tally } from '../tally'
import { SuppressionList } from './suppression-list'

export interface KeyRow {
  destination: string
  ordering_key: string
  head_id: number
  ready_at: number
  leased_event_id: number | null
  leased_until: number | null
  lease_owner: string | null
  lease_token: string | null
}

type Run = Database.Statement<unknown[], unknown>
/** A key's identity: (destination, ordering key). */
type Key = [destination: string, orderingKey: string]

/** Prepared statements shared by the verbs; prepared once per connection. */
export interface Statements {
  dedupeGet: Database.Statement<[string, string], { event_id: number; seen_at: number }>
  dedupeInsert: Run
  dedupeRenew: Run
  eventInsert: Run
  keyInsert: Run
  keyGet: Database.Statement<Key, KeyRow>
  keyHead: Database.Statement<Key, { id: number; run_at: number }>
  keyUpdateHead: Run
  keyInsertHead: Run
  keyDelete: Run
  keysReady: Database.Statement<[string, number, number], KeyRow>
  keyLease: Run
  keyExtend: Run
  /** Every destination that has a key row: one index probe per destination, not a scan of the keys. */
  keyDestinations: Database.Statement<[], { destination: string }>
  eventGet: Database.Statement<[number], EventRow & { updated_at: number }>
  eventBrief: Database.Statement<[number], EventBrief>
  eventStartAttempt: Database.Statement<[number, number], EventRow>
  eventSettle: Run
  outcomeAdd: Run
  totalAdd: Run
}

export interface EventBrief {
  id: number
  destination: string
  ordering_key: string
  status: string
  attempts: number
}

export function prepare(db: Database.Database): Statements {
  return {
    dedupeGet: db.prepare<[string, string], { event_id: number; seen_at: number }>(
      'SELECT event_id, seen_at FROM dedupe WHERE source = ? AND message_id = ?'
    ),
    dedupeInsert: db.prepare('INSERT INTO dedupe (source, message_id, event_id, seen_at) VALUES (?, ?, ?, ?)'),
    dedupeRenew: db.prepare('UPDATE dedupe SET event_id = ?, seen_at = ? WHERE source = ? AND message_id = ?'),
    eventInsert: db.prepare(
      `INSERT INTO events (destination, source, message_id, ordering_key, type, event, received_at, status, attempts, run_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`
    ),
    keyInsert: db.prepare(
      `INSERT INTO queue_keys (destination, ordering_key, head_id, ready_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (destination, ordering_key) DO NOTHING`
    ),
    keyGet: db.prepare<Key, KeyRow>('SELECT * FROM queue_keys WHERE destination = ? AND ordering_key = ?'),
    keyHead: db.prepare<Key, { id: number; run_at: number }>(
      `SELECT id, run_at FROM events INDEXED BY events_key_pending
        WHERE destination = ? AND ordering_key = ? AND status = 'pending' ORDER BY id LIMIT 1`
    ),
    keyUpdateHead: db.prepare('UPDATE queue_keys SET head_id = ?, ready_at = ? WHERE destination = ? AND ordering_key = ?'),
    keyInsertHead: db.prepare('INSERT INTO queue_keys (destination, ordering_key, head_id, ready_at) VALUES (?, ?, ?, ?)'),
    keyDelete: db.prepare('DELETE FROM queue_keys WHERE destination = ? AND ordering_key = ?'),
    keysReady: db.prepare<[string, number, number], KeyRow>(
      'SELECT * FROM queue_keys WHERE destination = ? AND ready_at <= ? ORDER BY ready_at, head_id LIMIT ?'
    ),
    keyLease: db.prepare(
      `UPDATE queue_keys SET leased_event_id = head_id, leased_until = ?, ready_at = ?, lease_owner = ?, lease_token = ?
       WHERE destination = ? AND ordering_key = ?`
    ),
    keyExtend: db.prepare(
      'UPDATE queue_keys SET leased_until = ?, ready_at = ? WHERE leased_event_id = ? AND destination = ? AND ordering_key = ?'
    ),
    keyDestinations: db.prepare<[], { destination: string }>(
      `WITH RECURSIVE d(destination) AS (
         SELECT min(destination) FROM queue_keys
         UNION ALL
         SELECT (SELECT min(destination) FROM queue_keys WHERE destination > d.destination) FROM d WHERE d.destination IS NOT NULL
       )
       SELECT destination FROM d WHERE destination IS NOT NULL`
    ),
    eventGet: db.prepare<[number], EventRow & { updated_at: number }>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`),
    eventBrief: db.prepare<[number], EventBrief>('SELECT id, destination, ordering_key, status, attempts FROM events WHERE id = ?'),
    eventStartAttempt: db.prepare<[number, number], EventRow>(
      `UPDATE events SET attempts = attempts + 1, updated_at = ? WHERE id = ? RETURNING ${EVENT_COLUMNS}`
    ),
    eventSettle: db.prepare(
      `UPDATE events SET status = ?, run_at = COALESCE(?, run_at), last_error = COALESCE(?, last_error),
         first_failed_at = CASE WHEN ? THEN COALESCE(first_failed_at, ?) ELSE first_failed_at END, retry_not_before = ?,
         finished_at = ?, updated_at = ?, action = COALESCE(?, action), last_status = COALESCE(?, last_status),
         samples = COALESCE(?, samples)
       WHERE id = ?`
    ),
    outcomeAdd: db.prepare(
      `INSERT INTO outcome_counts (minute, outcome, destination, n) VALUES (?, ?, ?, ?)
       ON CONFLICT (minute, outcome, destination) DO UPDATE SET n = n + excluded.n`
    ),
    totalAdd: db.prepare(
      'INSERT INTO totals (destination, bucket, n) VALUES (?, ?, ?) ON CONFLICT (destination, bucket) DO UPDATE SET n = n + excluded.n'
    )
  }
}


export interface SqliteContext {
  db: Database.Database
  options: ResolvedStoreOptions
  s: Statements
  /** While a group transaction runs, counter changes gather here and are written once before it commits. */
  groupTally: Tally | null
  /** A statement prepared once per connection and cached by its SQL text. */
  q<R = unknown>(sql: string): Database.Statement<unknown[], R>
  /** The suppressed users, as enqueue checks them. */
  suppression: SuppressionList
}

export function createContext(db: Database.Database, options: ResolvedStoreOptions): SqliteContext {
  const cache = new Map<string, Database.Statement<unknown[], unknown>>()
  const q = <R>(sql: string): Database.Statement<unknown[], R> => {
    let statement = cache.get(sql)
    if (!statement) {
      statement = db.prepare<unknown[], unknown>(sql)
      cache.set(sql, statement)
    }
    return statement as Database.Statement<unknown[], R>
  }
  return { db, options, s: prepare(db), groupTally: null, q, suppression: new SuppressionList(q) }
}

/**
 * Records a verb's counter changes: into the group transaction's tally when one is running
 * (written once, before the commit), else straight away. Call inside the transaction.
 */
export function writeTally(ctx: SqliteContext, tally: Tally): void {
  if (ctx.groupTally) ctx.groupTally.merge(tally)
  else writeTallyNow(ctx, tally)
}

export function writeTallyNow(ctx: SqliteContext, tally: Tally): void {
  for (const { minute, outcome, destination, n } of tally.sortedOutcomes()) ctx.s.outcomeAdd.run(minute, outcome, destination, n)
  for (const { destination, bucket, n } of tally.sortedTotals()) ctx.s.totalAdd.run(destination, bucket, n)
}

/**
 * Makes the key's row match its events: the head is the lowest-id pending event of the key at
 * its destination; a lease in progress is kept (ready again when it expires); no pending event
 * left → no row.
 */
export function refreshKey(ctx: SqliteContext, destination: string, orderingKey: string): void {
  const head = ctx.s.keyHead.get(destination, orderingKey)
  const key = ctx.s.keyGet.get(destination, orderingKey)
  if (!head) {
    if (key) ctx.s.keyDelete.run(destination, orderingKey)
    return
  }
  if (!key) {
    ctx.s.keyInsertHead.run(destination, orderingKey, head.id, head.run_at)
    return
  }
  const readyAt = key.leased_event_id !== null ? (key.leased_until as number) : head.run_at
  if (key.head_id !== head.id || key.ready_at !== readyAt) ctx.s.keyUpdateHead.run(head.id, readyAt, destination, orderingKey)
}

/** Key identities gathered in a set: destination and ordering key joined by NUL (cleaned text holds no NUL). */
export const keyId = (destination: string, orderingKey: string): string => `${destination}\u0000${orderingKey}`

export function splitKeyId(id: string): [destination: string, orderingKey: string] {
  const cut = id.indexOf('\u0000')
  return [id.slice(0, cut), id.slice(cut + 1)]
}
