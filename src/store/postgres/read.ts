import type { ResolvedStoreOptions } from '../options'
import { bucketWidthMs, EVENT_COLUMNS, MINUTE_MS, parseId, percentileFraction, toStoredEvent, type EventRow, type TotalBucket } from '../rows'
import type { Queryable } from './context'
import type { Counts, ListQuery, Outcome, ReasonCount, StatsBucket, StatsQuery, StoredEvent } from '../types'

export async function countEvents(pool: Queryable, options: ResolvedStoreOptions): Promise<Counts> {
  const { rows } = await pool.query<{ bucket: TotalBucket | 'in_flight' | 'oldest'; n: number | null }>(
    `SELECT bucket, sum(n)::bigint AS n FROM totals GROUP BY bucket
     UNION ALL
     SELECT 'in_flight', count(*) FROM queue_keys WHERE leased_event_id IS NOT NULL AND leased_until > $1
     UNION ALL
     SELECT 'oldest', received_at FROM events WHERE id = (SELECT min(head_id) FROM queue_keys)`,
    [options.now()]
  )
  const value = new Map(rows.map((r) => [r.bucket, r.n === null ? 0 : Number(r.n)]))
  const n = (bucket: TotalBucket) => value.get(bucket) ?? 0
  const inFlight = value.get('in_flight') ?? 0
  const oldest = value.get('oldest')
  return {
    admitted: 0,
    pending: n('new'),
    retrying: Math.max(0, n('retrying') - inFlight),
    inFlight,
    delivered: n('delivered'),
    dead: n('dead'),
    skipped: n('skipped'),
    byDestination: {},
    oldestPendingAt: oldest === undefined ? null : new Date(oldest)
  }
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
      WHERE minute >= $2 AND minute < $3 GROUP BY 1, 2 ORDER BY 1, outcome COLLATE "C"`,
    [width, from, query.to.getTime()]
  )
  return rows.map((r) => ({ at: new Date(Number(r.at)), outcome: r.outcome, count: Number(r.n) }))
}

export async function reasons(pool: Queryable): Promise<ReasonCount[]> {
  const { rows } = await pool.query<{ reason: string | null; status: 'dead' | 'retrying'; n: number; last_at: number }>(
    `SELECT * FROM (
       SELECT last_error AS reason, 'dead' AS status, count(*) AS n, max(updated_at) AS last_at
         FROM events WHERE status = 'dead' GROUP BY last_error
       UNION ALL
       SELECT last_error, 'retrying', count(*), max(updated_at)
         FROM events WHERE status = 'pending' AND last_error IS NOT NULL GROUP BY last_error
     ) r ORDER BY n DESC, reason COLLATE "C"`
  )
  return rows.map((r) => ({ destination: 'CustomerSuccessBox', reason: r.reason ?? '', status: r.status, count: Number(r.n), lastAt: new Date(Number(r.last_at)) }))
}

export async function latencyPercentile(pool: Queryable, p: number, since: Date): Promise<number | null> {
  const fraction = percentileFraction(p)
  // percentile_disc is the nearest-rank percentile, as the SQLite engine computes it.
  const { rows } = await pool.query<{ l: number | null }>(
    `SELECT percentile_disc($1::float8) WITHIN GROUP (ORDER BY finished_at - received_at) AS l
       FROM events WHERE status = 'delivered' AND finished_at >= $2`,
    [fraction, since.getTime()]
  )
  return rows[0].l === null ? null : Number(rows[0].l)
}
