import { countInbox } from './inbox'
import { addTotal, emptyDestinationCounts, sumCounts } from '../counts'
import { bucketWidthMs, cleanOptional, cleanText, EVENT_COLUMNS, MINUTE_MS, parseId, percentileFraction, toStoredEvent, type EventRow, type TotalBucket } from '../rows'
import type { Counts, DestinationCounts, ListQuery, Outcome, ReasonCount, ReasonsQuery, StatsBucket, StatsQuery, StoredEvent } from '../types'
import type { SqliteContext } from './context'

export function countEvents(ctx: SqliteContext): Counts {
  const now = ctx.options.now()
  const byDestination: Record<string, DestinationCounts> = {}
  const of = (destination: string): DestinationCounts => (byDestination[destination] ??= emptyDestinationCounts())
  for (const destination of ctx.options.destinations) of(destination)
  const totals = ctx.q<{ destination: string; bucket: TotalBucket; n: number }>('SELECT destination, bucket, n FROM totals').all()
  for (const row of totals) {
    // A destination removed from the options whose rows are all gone keeps zero totals: not listed.
    if (row.n !== 0 || byDestination[row.destination]) addTotal(of(row.destination), row.bucket, row.n)
  }
  const inFlight = ctx
    .q<{ destination: string; n: number }>(
      'SELECT destination, count(*) AS n FROM queue_keys WHERE leased_event_id IS NOT NULL AND leased_until > ? GROUP BY destination'
    )
    .all(now)
  for (const row of inFlight) of(row.destination).inFlight = row.n
  // A destination's oldest unfinished event is the lowest head of its keys.
  const oldest = ctx.q<{ received_at: number }>(
    'SELECT received_at FROM events WHERE id = (SELECT min(head_id) FROM queue_keys WHERE destination = ?)'
  )
  for (const { destination } of ctx.s.keyDestinations.all()) {
    const row = oldest.get(destination)
    if (row) of(destination).oldestPendingAt = new Date(row.received_at)
  }
  const inbox = countInbox(ctx)
  return sumCounts(inbox.events, inbox.oldestAt, byDestination)
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
  if (query.destination !== undefined) {
    where.push('destination = ?')
    params.push(cleanText(query.destination))
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
       WHERE minute >= ? AND minute < ? AND (? IS NULL OR destination = ?) GROUP BY at, outcome ORDER BY at, outcome`
    )
    .all(width, from, query.to.getTime(), ...twice(query.destination))
  return rows.map((r) => ({ at: new Date(r.at), outcome: r.outcome, count: r.n }))
}

export function reasons(ctx: SqliteContext, query: ReasonsQuery = {}): ReasonCount[] {
  const rows = ctx
    .q<{ destination: string; reason: string | null; status: 'dead' | 'retrying'; n: number; last_at: number }>(
      `SELECT destination, last_error AS reason, 'dead' AS status, count(*) AS n, max(updated_at) AS last_at
         FROM events WHERE status = 'dead' AND (? IS NULL OR destination = ?) GROUP BY destination, last_error
       UNION ALL
       SELECT destination, last_error, 'retrying', count(*), max(updated_at)
         FROM events WHERE status = 'pending' AND last_error IS NOT NULL AND (? IS NULL OR destination = ?)
        GROUP BY destination, last_error
       ORDER BY n DESC, reason, destination, status`
    )
    .all(...twice(query.destination), ...twice(query.destination))
  return rows.map((r) => ({ destination: r.destination, reason: r.reason ?? '', status: r.status, count: r.n, lastAt: new Date(r.last_at) }))
}

/** Nearest-rank percentile of finishedAt - receivedAt over events delivered since `since`. */
export function latencyPercentile(ctx: SqliteContext, p: number, since: Date, destination?: string): number | null {
  const fraction = percentileFraction(p)
  const to = ` AND (? IS NULL OR destination = ?)`
  const n = ctx
    .q<{ n: number }>(`SELECT count(*) AS n FROM events WHERE status = 'delivered' AND finished_at >= ?${to}`)
    .get(since.getTime(), ...twice(destination))!.n
  if (n === 0) return null
  const rank = Math.max(1, Math.ceil(fraction * n - 1e-9))
  const row = ctx
    .q<{ l: number }>(
      `SELECT finished_at - received_at AS l FROM events WHERE status = 'delivered' AND finished_at >= ?${to}
       ORDER BY l LIMIT 1 OFFSET ?`
    )
    .get(since.getTime(), ...twice(destination), rank - 1)
  return row ? row.l : null
}

/** A destination filter as the two parameters of `(? IS NULL OR destination = ?)`: null means every destination. */
const twice = (destination: string | undefined): [string | null, string | null] => {
  const d = cleanOptional(destination)
  return [d, d]
}
