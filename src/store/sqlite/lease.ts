import { newLeaseToken } from '../lease-token'
import { checkLease, cleanText, toStoredEvent } from '../rows'
import { Tally } from '../tally'
import type { LeasedEvent, LeaseOptions } from '../types'
import { writeTally, type SqliteContext } from './context'

/**
 * Leases the head event of up to `limit` keys that are due: head's runAt reached and no live
 * lease on the key. Cost depends on `limit`, not on the backlog (the queue_keys table holds
 * one row per key with unfinished events, indexed by the time it is next ready).
 */
export function leaseEvents(ctx: SqliteContext, options: LeaseOptions): LeasedEvent[] {
  const { limit, leaseMs } = checkLease(options.limit, options.leaseMs)
  if (limit === 0) return []
  const exclude = options.excludeKeys ? new Set([...options.excludeKeys].map(cleanText)) : undefined
  const owner = cleanText(options.owner)
  const now = ctx.options.now()
  const leasedUntil = now + leaseMs
  const candidates = ctx.s.keysReady.all(now, limit + (exclude?.size ?? 0))
  const tally = new Tally()
  const leased: LeasedEvent[] = []
  for (const key of candidates) {
    if (leased.length >= limit) break
    if (exclude?.has(key.ordering_key)) continue
    const token = newLeaseToken()
    ctx.s.keyLease.run(leasedUntil, leasedUntil, owner, token, key.ordering_key)
    const row = ctx.s.eventStartAttempt.get(now, key.head_id)
    if (!row) throw new Error(`store corrupt: key ${key.ordering_key} has head ${key.head_id} which does not exist`)
    if (row.attempts === 1) {
      tally.total('new', -1)
      tally.total('retrying', 1)
    }
    leased.push({ ...toStoredEvent(row), leasedUntil: new Date(leasedUntil), leaseId: token })
  }
  writeTally(ctx, tally)
  return leased
}

/** Extends the lease of events that still hold their key's lease. */
export function extendLeases(ctx: SqliteContext, ids: number[], leaseMs: number): void {
  const until = ctx.options.now() + (Number.isFinite(leaseMs) ? Math.max(0, leaseMs) : 0)
  for (const id of ids) {
    const event = ctx.s.eventBrief.get(id)
    if (event && event.status === 'pending') ctx.s.keyExtend.run(until, until, id, event.ordering_key)
  }
}
