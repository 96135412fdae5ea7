import type Database from 'better-sqlite3'
import type { ResolvedStoreOptions } from '../options'
import { EVENT_COLUMNS, type EventRow } from '../rows'
import { Tally } from '../tally'

export interface KeyRow {
  ordering_key: string
  head_id: number
  ready_at: number
  leased_event_id: number | null
  leased_until: number | null
  lease_owner: string | null
  lease_token: string | null
}

type Run = Database.Statement<unknown[], unknown>

/** Prepared statements shared by the verbs; prepared once per connection. */
export interface Statements {
  dedupeGet: Database.Statement<[string, string], { event_id: number; seen_at: number }>
  dedupeInsert: Run
  dedupeRenew: Run
  eventInsert: Run
  keyInsert: Run
  keyGet: Database.Statement<[string], KeyRow>
  keyHead: Database.Statement<[string], { id: number; run_at: number }>
  keyUpdateHead: Run
  keyInsertHead: Run
  keyDelete: Run
  keyRelease: Run
  keysReady: Database.Statement<[number, number], KeyRow>
  keyLease: Run
  keyExtend: Run
  eventGet: Database.Statement<[number], EventRow & { updated_at: number }>
  eventBrief: Database.Statement<[number], { id: number; ordering_key: string; status: string; attempts: number }>
  eventStartAttempt: Database.Statement<[number, number], EventRow>
  eventSettle: Run
  outcomeAdd: Run
  totalAdd: Run
}

export function prepare(db: Database.Database): Statements {
  return {
    dedupeGet: db.prepare<[string, string], { event_id: number; seen_at: number }>(
      'SELECT event_id, seen_at FROM dedupe WHERE source = ? AND message_id = ?'
    ),
    dedupeInsert: db.prepare('INSERT INTO dedupe (source, message_id, event_id, seen_at) VALUES (?, ?, ?, ?)'),
    dedupeRenew: db.prepare('UPDATE dedupe SET event_id = ?, seen_at = ? WHERE source = ? AND message_id = ?'),
    eventInsert: db.prepare(
      `INSERT INTO events (source, message_id, ordering_key, type, event, received_at, status, attempts, run_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`
    ),
    keyInsert: db.prepare(
      `INSERT INTO queue_keys (ordering_key, head_id, ready_at) VALUES (?, ?, ?) ON CONFLICT (ordering_key) DO NOTHING`
    ),
    keyGet: db.prepare<[string], KeyRow>('SELECT * FROM queue_keys WHERE ordering_key = ?'),
    keyHead: db.prepare<[string], { id: number; run_at: number }>(
      `SELECT id, run_at FROM events INDEXED BY events_key_pending WHERE ordering_key = ? AND status = 'pending' ORDER BY id LIMIT 1`
    ),
    keyUpdateHead: db.prepare('UPDATE queue_keys SET head_id = ?, ready_at = ? WHERE ordering_key = ?'),
    keyInsertHead: db.prepare('INSERT INTO queue_keys (ordering_key, head_id, ready_at) VALUES (?, ?, ?)'),
    keyDelete: db.prepare('DELETE FROM queue_keys WHERE ordering_key = ?'),
    keyRelease: db.prepare(
      `UPDATE queue_keys SET leased_event_id = NULL, leased_until = NULL, lease_owner = NULL, lease_token = NULL
       WHERE ordering_key = ?`
    ),
    keysReady: db.prepare<[number, number], KeyRow>('SELECT * FROM queue_keys WHERE ready_at <= ? ORDER BY ready_at, head_id LIMIT ?'),
    keyLease: db.prepare(
      `UPDATE queue_keys SET leased_event_id = head_id, leased_until = ?, ready_at = ?, lease_owner = ?, lease_token = ?
       WHERE ordering_key = ?`
    ),
    keyExtend: db.prepare(
      'UPDATE queue_keys SET leased_until = ?, ready_at = ? WHERE leased_event_id = ? AND ordering_key = ?'
    ),
    eventGet: db.prepare<[number], EventRow & { updated_at: number }>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`),
    eventBrief: db.prepare<[number], { id: number; ordering_key: string; status: string; attempts: number }>(
      'SELECT id, ordering_key, status, attempts FROM events WHERE id = ?'
    ),
    eventStartAttempt: db.prepare<[number, number], EventRow>(
      `UPDATE events SET attempts = attempts + 1, updated_at = ? WHERE id = ? RETURNING ${EVENT_COLUMNS}`
    ),
    eventSettle: db.prepare(
      `UPDATE events SET status = ?, run_at = COALESCE(?, run_at), last_error = COALESCE(?, last_error),
         first_failed_at = CASE WHEN ? THEN COALESCE(first_failed_at, ?) ELSE first_failed_at END,
         finished_at = ?, updated_at = ?, action = COALESCE(?, action), last_status = COALESCE(?, last_status),
         samples = COALESCE(?, samples)
       WHERE id = ?`
    ),
    outcomeAdd: db.prepare(
      'INSERT INTO outcome_counts (minute, outcome, n) VALUES (?, ?, ?) ON CONFLICT (minute, outcome) DO UPDATE SET n = n + excluded.n'
    ),
    totalAdd: db.prepare('INSERT INTO totals (bucket, n) VALUES (?, ?) ON CONFLICT (bucket) DO UPDATE SET n = n + excluded.n')
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
}

export function createContext(db: Database.Database, options: ResolvedStoreOptions): SqliteContext {
  const cache = new Map<string, Database.Statement<unknown[], unknown>>()
  return {
    db,
    options,
    s: prepare(db),
    groupTally: null,
    q<R>(sql: string) {
      let statement = cache.get(sql)
      if (!statement) {
        statement = db.prepare<unknown[], unknown>(sql)
        cache.set(sql, statement)
      }
      return statement as Database.Statement<unknown[], R>
    }
  }
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
  for (const { minute, outcome, n } of tally.sortedOutcomes()) ctx.s.outcomeAdd.run(minute, outcome, n)
  for (const [bucket, n] of tally.sortedTotals()) ctx.s.totalAdd.run(bucket, n)
}

/**
 * Makes the key's row match its events: the head is the lowest-id pending event; a lease in
 * progress is kept (ready again when it expires); no pending event left → no row.
 */
export function refreshKey(ctx: SqliteContext, orderingKey: string): void {
  const head = ctx.s.keyHead.get(orderingKey)
  const key = ctx.s.keyGet.get(orderingKey)
  if (!head) {
    if (key) ctx.s.keyDelete.run(orderingKey)
    return
  }
  if (!key) {
    ctx.s.keyInsertHead.run(orderingKey, head.id, head.run_at)
    return
  }
  const readyAt = key.leased_event_id !== null ? (key.leased_until as number) : head.run_at
  if (key.head_id !== head.id || key.ready_at !== readyAt) ctx.s.keyUpdateHead.run(head.id, readyAt, orderingKey)
}
