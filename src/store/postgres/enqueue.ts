import type { PoolClient } from 'pg'
import type { ResolvedStoreOptions } from '../options'
import { Tally } from '../tally'
import type { EnqueueResult, NewEvent } from '../types'
import { writeTally } from './context'

/**
 * Stores a group of events in one transaction, batch-first: ids are allocated up front (in
 * call order), dedupe claims go in as one multi-row upsert, then the events, then the key rows.
 * Rows are written in a fixed order (dedupe by (source, messageId), keys by name) so two
 * instances enqueueing at once cannot deadlock.
 */
export async function enqueueEvents(client: PoolClient, options: ResolvedStoreOptions, events: NewEvent[]): Promise<EnqueueResult[]> {
  const now = options.now()
  // Duplicates inside the group resolve to their first occurrence.
  const firstIndex = new Map<string, number>()
  const unique: number[] = []
  const sameAs: number[] = events.map((e, i) => {
    const key = `${e.source}\u0000${e.messageId}`
    const first = firstIndex.get(key)
    if (first !== undefined) return first
    firstIndex.set(key, i)
    unique.push(i)
    return i
  })
  const json = unique.map((i) => JSON.stringify(events[i].event))

  const { rows: idRows } = await client.query<{ id: number }>(
    `SELECT nextval('events_id_seq') AS id FROM generate_series(1, $1::int)`,
    [unique.length]
  )
  const ids = idRows.map((r) => Number(r.id)).sort((a, b) => a - b)

  const { rows: claimed } = await client.query<{ event_id: number }>(
    `INSERT INTO dedupe (source, message_id, event_id, seen_at)
     SELECT source, message_id, event_id, $4 FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(source, message_id, event_id)
      ORDER BY source COLLATE "C", message_id COLLATE "C"
     ON CONFLICT (source, message_id) DO UPDATE SET event_id = EXCLUDED.event_id, seen_at = EXCLUDED.seen_at
       WHERE dedupe.seen_at <= $5
     RETURNING event_id`,
    [unique.map((i) => events[i].source), unique.map((i) => events[i].messageId), ids, now, now - options.dedupeWindowMs]
  )
  const fresh = new Set(claimed.map((r) => Number(r.event_id)))
  const results: EnqueueResult[] = new Array(events.length)
  const insert: number[] = [] // positions in `unique`
  const seenBefore: number[] = []
  unique.forEach((eventIndex, u) => {
    if (fresh.has(ids[u])) {
      insert.push(u)
      results[eventIndex] = { id: String(ids[u]), duplicate: false }
    } else seenBefore.push(u)
  })
  if (seenBefore.length > 0) {
    const { rows } = await client.query<{ source: string; message_id: string; event_id: number }>(
      `SELECT d.source, d.message_id, d.event_id FROM dedupe d
         JOIN unnest($1::text[], $2::text[]) AS t(source, message_id) ON d.source = t.source AND d.message_id = t.message_id`,
      [seenBefore.map((u) => events[unique[u]].source), seenBefore.map((u) => events[unique[u]].messageId)]
    )
    const existing = new Map(rows.map((r) => [`${r.source}\u0000${r.message_id}`, String(r.event_id)]))
    for (const u of seenBefore) {
      const e = events[unique[u]]
      const id = existing.get(`${e.source}\u0000${e.messageId}`)
      if (id === undefined) throw new Error(`dedupe entry for ${e.messageId} vanished during enqueue`)
      results[unique[u]] = { id, duplicate: true }
    }
  }
  events.forEach((_, i) => {
    if (sameAs[i] !== i) results[i] = { id: results[sameAs[i]].id, duplicate: true }
  })

  if (insert.length > 0) {
    const pick = <T>(f: (e: NewEvent, u: number) => T) => insert.map((u) => f(events[unique[u]], u))
    await client.query(
      `INSERT INTO events (id, source, message_id, ordering_key, type, event, received_at, status, attempts, run_at, updated_at)
       SELECT id, source, message_id, ordering_key, type, event, received_at, 'pending', 0, $8, $8
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
           AS t(id, source, message_id, ordering_key, type, event, received_at)`,
      [
        pick((_, u) => ids[u]), pick((e) => e.source), pick((e) => e.messageId), pick((e) => e.orderingKey),
        pick((e) => e.type), pick((_, u) => json[u]), pick((e) => e.receivedAt.getTime()), now
      ]
    )
    // A key's head is its lowest pending id; an instance whose ids were allocated earlier but
    // committed later lowers the head again (those events were concurrent with the others).
    await client.query(
      `INSERT INTO queue_keys (ordering_key, head_id, ready_at)
       SELECT ordering_key, min(id), $3 FROM unnest($1::text[], $2::bigint[]) AS t(ordering_key, id)
        GROUP BY ordering_key ORDER BY ordering_key COLLATE "C"
       ON CONFLICT (ordering_key) DO UPDATE SET
         head_id = EXCLUDED.head_id,
         ready_at = CASE WHEN queue_keys.leased_event_id IS NULL THEN EXCLUDED.ready_at ELSE queue_keys.ready_at END
       -- Rows not updated are still locked, which keeps a concurrent outcome from deleting the key row.
       WHERE EXCLUDED.head_id < queue_keys.head_id`,
      [pick((e) => e.orderingKey), pick((_, u) => ids[u]), now]
    )
  }

  const tally = new Tally()
  tally.outcome(now, 'ingested', insert.length)
  tally.total('new', insert.length)
  await writeTally(client, tally)
  return results
}
