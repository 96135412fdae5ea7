import { countInbox } from './inbox'
import { bucketWidthMs, cleanText, EVENT_COLUMNS, MINUTE_MS, parseId, percentileFraction, toStoredEvent, type EventRow, type TotalBucket } from '../rows'
import type { Counts, ListQuery, Outcome, ReasonCount, StatsBucket, StatsQuery, StoredEvent } from '../types'
import type { SqliteContext } from './context'

export function countEvents(ctx: SqliteContext): Counts {
  const now = ctx.options.now()
  const totals = new Map<string, number>()
  for (const row of ctx.q<{ bucket: TotalBucket; n: number }>('SELECT bucket, n FROM totals').all()) totals.set(row.bucket, row.n)
  const inFlight = ctx
    .q<{ n: number }>('SELECT count(*) AS n FROM queue_keys WHERE leased_event_id IS NOT NULL AND leased_until > ?')
    .get(now)!.n
  // The oldest unfinished event is the lowest head of all keys.
  const oldest = ctx
    .q<{ received_at: number }>(`SELECT received_at FROM events WHERE id = (SELECT min(head_id) FROM queue_keys)`)
    .get()
  const n = (bucket: TotalBucket) => totals.get(bucket) ?? 0
  const inbox = countInbox(ctx)
  const oldestAt = Math.min(oldest?.received_at ?? Infinity, inbox.oldestAt ?? Infinity)
  return {
    admitted: inbox.events,
    pending: n('new'),
    // Leasing counts as an attempt, so every leased event sits in the retrying bucket.
    retrying: Math.max(0, n('retrying') - inFlight),
    inFlight,
    delivered: n('delivered'),
    dead: n('dead'),
    skipped: n('skipped'),
    byDestination: {},
    oldestPendingAt: oldestAt === Infinity ? null : new Date(oldestAt)
  }
}

export function getEvent(ctx: SqliteContext, id: string): StoredEvent | null {
  const n = parseId(id)
  if (n === null) return null
  const row = ctx.q<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`).get(n)
  return row ? toStoredEvent(row) : null
}

const LIST_DEFAULT = 100
const LIST_MAX = 1000

/** Newest first. `status: 'pending'` means every unfinished event; `'retrying'` those with attempts. */
export function listEvents(ctx: SqliteContext, query: ListQuery): StoredEvent[] {
  const where: string[] = []
  const params: unknown[] = []
  // Statuses are spelled out in the SQL so SQLite can use the partial indexes.
  if (query.status === 'retrying') where.push(`status = 'pending' AND last_error IS NOT NULL`)
  else if (query.status !== undefined) {
    if (!['pending', 'delivered', 'dead', 'skipped'].includes(query.status)) return []
    where.push(`status = '${query.status}'`)
  }
  if (query.reason) {
    where.push(`instr(COALESCE(last_error, ''), ?) > 0`)
    params.push(cleanText(query.reason))
  }
  if (query.type) {
    where.push('type = ?')
    params.push(cleanText(query.type))
  }
  if (query.beforeId !== undefined) {
    const before = parseId(query.beforeId)
    if (before === null) return []
    where.push('id < ?')
    params.push(before)
  }
  const limit = Math.min(LIST_MAX, Math.max(1, Math.floor(query.limit ?? LIST_DEFAULT)))
  const sql = `SELECT ${EVENT_COLUMNS} FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ${limit}`
  return ctx.q<EventRow>(sql).all(...params).map(toStoredEvent)
}

/** Buckets are aligned to multiples of their width since the epoch; the finest width is one minute. */
export function stats(ctx: SqliteContext, query: StatsQuery): StatsBucket[] {
  const width = bucketWidthMs(query.bucketSeconds)
  const from = Math.floor(query.from.getTime() / MINUTE_MS) * MINUTE_MS
  const rows = ctx
    .q<{ at: number; outcome: Outcome; n: number }>(
      `SELECT minute - minute % ? AS at, outcome, sum(n) AS n FROM outcome_counts
       WHERE minute >= ? AND minute < ? GROUP BY at, outcome ORDER BY at, outcome`
    )
    .all(width, from, query.to.getTime())
  return rows.map((r) => ({ at: new Date(r.at), outcome: r.outcome, count: r.n }))
}

export function reasons(ctx: SqliteContext): ReasonCount[] {
  const rows = ctx
    .q<{ reason: string | null; status: 'dead' | 'retrying'; n: number; last_at: number }>(
      `SELECT last_error AS reason, 'dead' AS status, count(*) AS n, max(updated_at) AS last_at
         FROM events WHERE status = 'dead' GROUP BY last_error
       UNION ALL
       SELECT last_error, 'retrying', count(*), max(updated_at)
         FROM events WHERE status = 'pending' AND last_error IS NOT NULL GROUP BY last_error
       ORDER BY n DESC, reason`
    )
    .all()
  return rows.map((r) => ({ destination: 'CustomerSuccessBox', reason: r.reason ?? '', status: r.status, count: r.n, lastAt: new Date(r.last_at) }))
}

/** Nearest-rank percentile of finishedAt - receivedAt over events delivered since `since`. */
export function latencyPercentile(ctx: SqliteContext, p: number, since: Date): number | null {
  const fraction = percentileFraction(p)
  const n = ctx
    .q<{ n: number }>(`SELECT count(*) AS n FROM events WHERE status = 'delivered' AND finished_at >= ?`)
    .get(since.getTime())!.n
  if (n === 0) return null
  const rank = Math.max(1, Math.ceil(fraction * n - 1e-9))
  const row = ctx
    .q<{ l: number }>(
      `SELECT finished_at - received_at AS l FROM events WHERE status = 'delivered' AND finished_at >= ?
       ORDER BY l LIMIT 1 OFFSET ?`
    )
    .get(since.getTime(), rank - 1)
  return row ? row.l : null
}
