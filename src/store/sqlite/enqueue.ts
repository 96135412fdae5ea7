import { userIdOf, type EnqueueInput } from '../regulations'
import { cleanText, receivedAtMs } from '../rows'
import { Tally } from '../tally'
import type { EnqueueResult, NewEvent } from '../types'
import { writeTally, type SqliteContext } from './context'

/**
 * Inserts events in order, one row per destination, skipping (source, messageId) pairs seen
 * inside the dedupe window (a duplicate gets no row at any destination). Runs inside the
 * caller's transaction. Earlier events of the same batch count as seen. The dedupe entry and
 * the result name the row of the first destination. `eventJson`, when present, is the event
 * already serialised (the worker-thread host, proxy.ts). Events of a suppressed user are
 * dropped and counted before dedupe: they neither read nor write a dedupe entry.
 */
export function enqueueEvents(ctx: SqliteContext, events: Array<NewEvent & EnqueueInput>): EnqueueResult[] {
  const { s } = ctx
  const { destinations } = ctx.options
  const now = ctx.options.now()
  const windowStart = now - ctx.options.dedupeWindowMs
  const results: EnqueueResult[] = []
  let ingested = 0
  // Per destination, the keys that got their row in this call.
  const keysSeen = destinations.map(() => new Set<string>())
  const suppressed = ctx.suppression.current()
  let dropped = 0
  for (const raw of events) {
    if (suppressed !== null) {
      const userId = userIdOf(raw)
      if (userId !== null && suppressed.has(userId)) {
        results.push({ id: '', duplicate: false, suppressed: true })
        dropped++
        continue
      }
    }
    const e = { ...raw, source: cleanText(raw.source), messageId: cleanText(raw.messageId), orderingKey: cleanText(raw.orderingKey), type: cleanText(raw.type) }
    const seen = s.dedupeGet.get(e.source, e.messageId)
    if (seen && seen.seen_at > windowStart) {
      results.push({ id: String(seen.event_id), duplicate: true })
      continue
    }
    const json = raw.eventJson ?? JSON.stringify(e.event)
    const receivedAt = receivedAtMs(e.receivedAt, now)
    let firstId = 0
    for (let d = 0; d < destinations.length; d++) {
      const destination = destinations[d]
      const id = Number(s.eventInsert.run(destination, e.source, e.messageId, e.orderingKey, e.type, json, receivedAt, now, now).lastInsertRowid)
      if (d === 0) firstId = id
      // The first event of a key in this call creates its row if missing; later ones cannot be its head.
      if (!keysSeen[d].has(e.orderingKey)) {
        keysSeen[d].add(e.orderingKey)
        s.keyInsert.run(destination, e.orderingKey, id, now)
      }
    }
    // Seen before but outside the window: the entry now points at the new event.
    if (seen) s.dedupeRenew.run(firstId, now, e.source, e.messageId)
    else s.dedupeInsert.run(e.source, e.messageId, firstId, now)
    results.push({ id: String(firstId), duplicate: false })
    ingested++
  }
  const tally = new Tally()
  for (const destination of destinations) {
    tally.outcome(destination, now, 'ingested', ingested)
    tally.total(destination, 'new', ingested)
  }
  writeTally(ctx, tally)
  ctx.suppression.countDropped(dropped)
  return results
}
