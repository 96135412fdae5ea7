import { cleanText } from '../rows'
import type { ExpediteOptions } from '../types'
import { keyId, refreshKey, splitKeyId, type SqliteContext } from './context'

/**
 * Pending events of one destination whose last attempt failed retryably (a failed attempt that
 * is not finished leaves `last_error` set and the event pending) at or after a time, that wait
 * for a later retry, are not leased, and whose destination-requested wait is over.
 */
const WAITING = `SELECT e.id, e.ordering_key FROM events e
  LEFT JOIN queue_keys q ON q.destination = e.destination AND q.ordering_key = e.ordering_key
  WHERE e.status = 'pending' AND e.last_error IS NOT NULL AND e.destination = ? AND e.updated_at >= ? AND e.run_at > ?
    AND (e.retry_not_before IS NULL OR e.retry_not_before <= ?)
    AND (q.leased_event_id IS NULL OR q.leased_event_id <> e.id)`

/** Makes those events due now, and their keys ready (refreshKey: a key's readiness is its head's run time). */
export function expediteRetries(ctx: SqliteContext, options: ExpediteOptions): number {
  const now = options.now?.getTime() ?? ctx.options.now()
  const destination = cleanText(options.destination)
  const waiting = ctx.q<{ id: number; ordering_key: string }>(WAITING).all(destination, options.failedSince.getTime(), now, now)
  const due = ctx.q('UPDATE events SET run_at = ? WHERE id = ?')
  const keys = new Set<string>()
  for (const event of waiting) {
    due.run(now, event.id)
    keys.add(keyId(destination, event.ordering_key))
  }
  for (const key of keys) refreshKey(ctx, ...splitKeyId(key))
  return waiting.length
}
