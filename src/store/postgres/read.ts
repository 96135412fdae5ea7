import type { ResolvedStoreOptions } from '../options'
import { bucketWidthMs, EVENT_COLUMNS, MINUTE_MS, parseId, percentileFraction, toStoredEvent, type EventRow, type TotalBucket } from '../rows'
import type { Queryable } from './context'
import type { Counts, DestinationCounts, ListQuery, Outcome, ReasonCount, ReasonsQuery, StatsBucket, StatsQuery, StoredEvent } from '../types'
import { addTotal, emptyDestinationCounts, sumCounts } from '../counts'
import { KEY_DESTINATIONS } from './lease'

export async function countEvents(pool: Queryable, options: ResolvedStoreOptions): Promise<Counts> {
  const { rows } = await pool.query<{ destination: string; bucket: TotalBucket | 'in_flight' | 'oldest'; n: number | null }>(
    `WITH RECURSIVE ${KEY_DESTINATIONS}
     SELECT destination, bucket, sum(n)::bigint AS n FROM totals GROUP BY destination, bucket
     UNION ALL
     SELECT destination, 'in_flight', count(*) FROM queue_keys WHERE leased_event_id IS NOT NULL AND leased_until > $1 GROUP BY destination
     UNION ALL
     -- A destination's oldest unfinished event is the lowest head of its keys.
     SELECT d.destination, 'oldest', (SELECT received_at FROM events WHERE id = (SELECT min(head_id) FROM queue_keys q WHERE q.destination = d.destination))
       FROM key_destinations d WHERE d.destination IS NOT NULL`,
    [options.now()]
  )
  const byDestination: Record<string, DestinationCounts> = {}
  const of = (destination: string): DestinationCounts => (byDestination[destination] ??= emptyDestinationCounts())
  for (const destination of options.destinations) of(destination)
  for (const row of rows) {
    const n = row.n === null ? null : Number(row.n)
    if (row.bucket === 'oldest') {
      if (n !== null) of(row.destination).oldestPendingAt = new Date(n)
    } else if (row.bucket === 'in_flight') of(row.destination).inFlight = n ?? 0
    // A destination removed from the options whose rows are all gone keeps zero totals: not listed.
    else if (n !== 0 || byDestination[row.destination]) addTotal(of(row.destination), row.bucket, n ?? 0)
  }
  return sumCounts(0, null, byDestination)
}

export async function getEvent(pool: Queryable, id: string): Promise<StoredEvent | null> {
  const n = parseId(id)
  if (n === null) return null
  const { rows } = await pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = $1`, [n])
  return rows.length > 0 ? toStoredEvent(rows[0]) : null
}

const LIST_DEFAULT = 100
const LIST_MAX = 1000

export async function listEvents(pool: Queryable, query: ListQuery): Promise<StoredEvent[]> {
  const where: string[] = []
  const params: unknown[] = []
  if (query.status === 'retrying') where.push(`status = 'pending' AND last_error IS NOT NULL`)
  else if (query.status !== undefined) {
    if (!['pending', 'delivered', 'dead', 'skipped'].includes(query.status)) return []
    where.push(`status = '${query.status}'`)
  }
  if (query.reason) {
    params.push(query.reason)
    where.push(`strpos(COALESCE(last_error, ''), $${params.length}::text) > 0`)
  }
  if (query.type) {
    params.push(query.type)
    where.push(`type = $${params.length}`)
  }
  if (query.destination !== undefined) {
    params.push(query.destination)
    where.push(`destination = $${params.length}`)
  }
  if (query.beforeId !== undefined) {
    const before = parseId(query.beforeId)
    if (before === null) return []
    params.push(before)
    where.push(`id < $${params.length}`)
  }
  const limit = Math.min(LIST_MAX, Math.max(1, Math.floor(query.limit ?? LIST_DEFAULT)))
  const { rows } = await pool.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ${limit}`,
    params
  )
  return rows.map(toStoredEvent)
}

export async function stats(pool: Queryable, query: StatsQuery): Promise<StatsBucket[]> {
  const width = bucketWidthMs(query.bucketSeconds)
  const from = Math.floor(query.from.getTime() / MINUTE_MS) * MINUTE_MS
  const { rows } = await pool.query<{ at: number; outcome: Outcome; n: number }>(
    `SELECT minute - minute % $1 AS at, outcome, sum(n)::bigint AS n FROM outcome_counts
      WHERE minute >= $2 AND minute < $3 AND ($4::text IS NULL OR destination = $4::text)
      GROUP BY 1, 2 ORDER BY 1, outcome COLLATE "C"`,
    [width, from, query.to.getTime(), query.destination ?? null]
  )
  return rows.map((r) => ({ at: new Date(Number(r.at)), outcome: r.outcome, count: Number(r.n) }))
}

export async function reasons(pool: Queryable, query: ReasonsQuery = {}): Promise<ReasonCount[]> {
  const { rows } = await pool.query<{ destination: string; reason: string | null; status: 'dead' | 'retrying'; n: number; last_at: number }>(
    `SELECT * FROM (
       SELECT destination, last_error AS reason, 'dead' AS status, count(*) AS n, max(updated_at) AS last_at
         FROM events WHERE status = 'dead' AND ($1::text IS NULL OR destination = $1::text) GROUP BY destination, last_error
       UNION ALL
       SELECT destination, last_error, 'retrying', count(*), max(updated_at)
         FROM events WHERE status = 'pending' AND last_error IS NOT NULL AND ($1::text IS NULL OR destination = $1::text)
        GROUP BY destination, last_error
     ) r ORDER BY n DESC, reason COLLATE "C", destination COLLATE "C", status COLLATE "C"`,
    [query.destination ?? null]
  )
  return rows.map((r) => ({ destination: r.destination, reason: r.reason ?? '', status: r.status, count: Number(r.n), lastAt: new Date(Number(r.last_at)) }))
}

export async function latencyPercentile(pool: Queryable, p: number, since: Date, destination?: string): Promise<number | null> {
  const fraction = percentileFraction(p)
  // percentile_disc is the nearest-rank percentile, as the SQLite engine computes it.
  const { rows } = await pool.query<{ l: number | null }>(
    `SELECT percentile_disc($1::float8) WITHIN GROUP (ORDER BY finished_at - received_at) AS l
       FROM events WHERE status = 'delivered' AND finished_at >= $2 AND ($3::text IS NULL OR destination = $3::text)`,
    [fraction, since.getTime(), destination ?? null]
  )
  return rows[0].l === null ? null : Number(rows[0].l)
}
