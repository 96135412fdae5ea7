import { cleanText, receivedAtMs } from '../rows'
import { Tally } from '../tally'
import type { EnqueueResult, NewEvent } from '../types'
import { writeTally, type SqliteContext } from './context'

/**
 * Inserts events in order, skipping (source, messageId) pairs seen inside the dedupe window.
 * Runs inside the caller's transaction. Earlier events of the same batch count as seen.
 * `eventJson`, when present, is the event already serialised (the worker-thread host, proxy.ts).
 */
export function enqueueEvents(ctx: SqliteContext, events: Array<NewEvent & { eventJson?: string }>): EnqueueResult[] {
  const { s } = ctx
  const now = ctx.options.now()
  const windowStart = now - ctx.options.dedupeWindowMs
  const results: EnqueueResult[] = []
  let ingested = 0
  const keysSeen = new Set<string>()
  for (const raw of events) {
    const e = { ...raw, source: cleanText(raw.source), messageId: cleanText(raw.messageId), orderingKey: cleanText(raw.orderingKey), type: cleanText(raw.type) }
    const seen = s.dedupeGet.get(e.source, e.messageId)
    if (seen && seen.seen_at > windowStart) {
      results.push({ id: String(seen.event_id), duplicate: true })
      continue
    }
    const json = raw.eventJson ?? JSON.stringify(e.event)
    const id = Number(s.eventInsert.run(e.source, e.messageId, e.orderingKey, e.type, json, receivedAtMs(e.receivedAt, now), now, now).lastInsertRowid)
    // Seen before but outside the window: the entry now points at the new event.
    if (seen) s.dedupeRenew.run(id, now, e.source, e.messageId)
    else s.dedupeInsert.run(e.source, e.messageId, id, now)
    // The first event of a key in this call creates its row if missing; later ones cannot be its head.
    if (!keysSeen.has(e.orderingKey)) {
      keysSeen.add(e.orderingKey)
      s.keyInsert.run(e.orderingKey, id, now)
    }
    results.push({ id: String(id), duplicate: false })
    ingested++
  }
  const tally = new Tally()
  tally.outcome(now, 'ingested', ingested)
  tally.total('new', ingested)
  writeTally(ctx, tally)
  return results
}
