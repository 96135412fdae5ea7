import type { ResolvedStoreOptions } from '../options'
import { userIdOf, type EnqueueInput } from '../regulations'
import { cleanText, MINUTE_MS, receivedAtMs } from '../rows'
import type { EnqueueResult, NewEvent } from '../types'
import { randomShard, type Queryable } from './context'

/**
 * Stores a group of events in ONE statement (atomic on its own, one round trip): events of a
 * suppressed user are dropped and counted (suppressed_among, suppress.ts), each other event is
 * fanned out to one row per destination, ids allocated in call order (and within an event in
 * the order of the destinations), dedupe claims go in as a multi-row upsert (an entry older than
 * the window is taken over) naming the first destination's row, only claimed events' rows are
 * inserted, their keys' rows are created or their heads lowered, and the counters move. Rows are
 * written sorted (dedupe by (source, messageId), keys by destination and name) so concurrent
 * instances rarely wait on each other.
 */
const ENQUEUE_SQL = `
WITH suppressed AS MATERIALIZED (
  SELECT suppressed_among($13::text[]) AS user_id
), given AS (
  SELECT t.*, t.user_id IS NOT NULL AND t.user_id IN (SELECT user_id FROM suppressed) AS dropped
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $12::text[]) WITH ORDINALITY
      AS t(source, message_id, ordering_key, type, event, received_at, user_id, ord)
), input AS (
  SELECT * FROM given WHERE NOT dropped
), dropped_count AS (
  INSERT INTO suppressed_counts (shard, n) SELECT $9::int, count(*) FROM given WHERE dropped HAVING count(*) > 0
  ON CONFLICT (shard) DO UPDATE SET n = suppressed_counts.n + EXCLUDED.n
), fanned AS (
  -- The subquery hands the rows over sorted and nextval runs once per row, in that order (the
  -- CTE is materialised, being volatile).
  SELECT f.*, nextval('events_id_seq') AS id FROM (
    SELECT i.*, d.destination, d.dord
      FROM input i CROSS JOIN unnest($11::text[]) WITH ORDINALITY AS d(destination, dord)
     ORDER BY i.ord, d.dord
  ) f
), claimed AS (
  INSERT INTO dedupe (source, message_id, event_id, seen_at)
  SELECT source, message_id, id, $7::bigint FROM fanned WHERE dord = 1
   ORDER BY source COLLATE "C", message_id COLLATE "C"
  ON CONFLICT (source, message_id) DO UPDATE SET event_id = EXCLUDED.event_id, seen_at = EXCLUDED.seen_at
    WHERE dedupe.seen_at <= $8::bigint
  RETURNING event_id
), inserted AS (
  INSERT INTO events (id, destination, source, message_id, ordering_key, type, event, received_at, status, attempts, run_at, updated_at)
  SELECT f.id, f.destination, f.source, f.message_id, f.ordering_key, f.type, f.event, f.received_at, 'pending', 0, $7::bigint, $7::bigint
    FROM fanned f
    JOIN fanned first ON first.ord = f.ord AND first.dord = 1
    JOIN claimed c ON c.event_id = first.id
  RETURNING id, destination, ordering_key
), keyed AS (
  -- A key's head is its lowest pending id; an instance whose ids were allocated earlier but that
  -- commits later lowers the head again (its events were concurrent with the others).
  -- Rows not updated are still locked, so a concurrent outcome cannot delete the key row under us.
  INSERT INTO queue_keys (destination, ordering_key, head_id, ready_at)
  SELECT destination, ordering_key, min(id), $7::bigint FROM inserted GROUP BY destination, ordering_key
   ORDER BY destination COLLATE "C", ordering_key COLLATE "C"
  ON CONFLICT (destination, ordering_key) DO UPDATE SET
    head_id = EXCLUDED.head_id,
    ready_at = CASE WHEN queue_keys.leased_event_id IS NULL THEN EXCLUDED.ready_at ELSE queue_keys.ready_at END
    WHERE EXCLUDED.head_id < queue_keys.head_id
), counted AS (
  INSERT INTO totals (destination, bucket, shard, n)
  SELECT destination, 'new', $9::int, count(*) FROM inserted GROUP BY destination ORDER BY destination COLLATE "C"
  ON CONFLICT (destination, bucket, shard) DO UPDATE SET n = totals.n + EXCLUDED.n
), ingested AS (
  INSERT INTO outcome_counts (minute, outcome, destination, shard, n)
  SELECT $10::bigint, 'ingested', destination, $9::int, count(*) FROM inserted GROUP BY destination ORDER BY destination COLLATE "C"
  ON CONFLICT (minute, outcome, destination, shard) DO UPDATE SET n = outcome_counts.n + EXCLUDED.n
)
SELECT f.ord, f.id, c.event_id IS NOT NULL AS fresh FROM fanned f LEFT JOIN claimed c ON c.event_id = f.id WHERE f.dord = 1 ORDER BY f.ord`

export async function enqueueEvents(db: Queryable, options: ResolvedStoreOptions, events: NewEvent[]): Promise<EnqueueResult[]> {
  const now = options.now()
  // Duplicates inside the group resolve to their first occurrence.
  const firstIndex = new Map<string, number>()
  const unique: NewEvent[] = []
  const sameAs: number[] = events.map((e) => {
    const key = `${cleanText(e.source)}\u0000${cleanText(e.messageId)}`
    let first = firstIndex.get(key)
    if (first === undefined) {
      first = unique.length
      firstIndex.set(key, first)
      unique.push(e)
    }
    return first
  })
  // Events admitted serialised carry their JSON as text already (and their userId beside it).
  const json = unique.map((e) => (e as EnqueueInput).eventJson ?? JSON.stringify(e.event))
  const userIds = unique.map((e) => userIdOf(e))
  const { rows } = await db.query<{ ord: number; id: number; fresh: boolean }>(ENQUEUE_SQL, [
    unique.map((e) => e.source), unique.map((e) => e.messageId), unique.map((e) => e.orderingKey), unique.map((e) => e.type),
    json, unique.map((e) => receivedAtMs(e.receivedAt, now)), now, now - options.dedupeWindowMs, randomShard(),
    Math.floor(now / MINUTE_MS) * MINUTE_MS, options.destinations, userIds,
    [...new Set(userIds.filter((id): id is string => id !== null))]
  ])
  // Rows come for the events not dropped; a dropped event's position has none.
  const uniqueResults: EnqueueResult[] = unique.map(() => ({ id: '', duplicate: false, suppressed: true }))
  for (const r of rows) uniqueResults[Number(r.ord) - 1] = { id: String(r.id), duplicate: !r.fresh }
  const seenBefore = unique.map((_, u) => u).filter((u) => uniqueResults[u].duplicate)
  if (seenBefore.length > 0) {
    // Seen inside the window: answer with the id the dedupe entry points at.
    const { rows: existing } = await db.query<{ n: number; event_id: number }>(
      `SELECT t.n, d.event_id FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(source, message_id, n)
         JOIN dedupe d ON d.source = t.source AND d.message_id = t.message_id`,
      [seenBefore.map((u) => unique[u].source), seenBefore.map((u) => unique[u].messageId)]
    )
    const byPosition = new Map(existing.map((r) => [Number(r.n) - 1, String(r.event_id)]))
    for (const [position, u] of seenBefore.entries()) {
      const id = byPosition.get(position)
      if (id === undefined) throw new Error(`dedupe entry for messageId ${unique[u].messageId} vanished during enqueue; retry`)
      uniqueResults[u] = { id, duplicate: true }
    }
  }
  const answered = new Set<number>()
  return sameAs.map((u) => {
    if (answered.has(u)) return uniqueResults[u].suppressed ? uniqueResults[u] : { id: uniqueResults[u].id, duplicate: true }
    answered.add(u)
    return uniqueResults[u]
  })
}
