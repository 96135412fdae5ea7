import { newLeaseToken } from '../lease-token'
import { checkLease, cleanText, toStoredEvent } from '../rows'
import { Tally } from '../tally'
import type { LeasedEvent, LeaseOptions } from '../types'
import { writeTally, type KeyRow, type SqliteContext } from './context'

/**
 * Due keys, oldest first: the head's runAt reached and no live lease on the key. Read from the
 * (destination, ready_at, head_id) index, so a lease of one destination reads only that
 * destination's keys; a lease of any destination reads each destination's first due keys and
 * merges them.
 */
function dueKeys(ctx: SqliteContext, destination: string | undefined, now: number, n: number): KeyRow[] {
  if (destination !== undefined) return ctx.s.keysReady.all(destination, now, n)
  const destinations = ctx.s.keyDestinations.all()
  if (destinations.length === 1) return ctx.s.keysReady.all(destinations[0].destination, now, n)
  return destinations
    .flatMap((d) => ctx.s.keysReady.all(d.destination, now, n))
    .sort((a, b) => a.ready_at - b.ready_at || a.head_id - b.head_id)
    .slice(0, n)
}

/**
 * Leases the head event of up to `limit` keys that are due. Cost depends on `limit` (and the
 * number of destinations), not on the backlog (the queue_keys table holds one row per
 * (destination, key) with unfinished events, indexed by the time it is next ready).
 */
export function leaseEvents(ctx: SqliteContext, options: LeaseOptions): LeasedEvent[] {
  const { limit, leaseMs } = checkLease(options.limit, options.leaseMs)
  if (limit === 0) return []
  const exclude = options.excludeKeys ? new Set([...options.excludeKeys].map(cleanText)) : undefined
  const destination = options.destination === undefined ? undefined : cleanText(options.destination)
  const owner = cleanText(options.owner)
  const now = ctx.options.now()
  const leasedUntil = now + leaseMs
  const candidates = dueKeys(ctx, destination, now, limit + (exclude?.size ?? 0))
  const tally = new Tally()
  const leased: LeasedEvent[] = []
  for (const key of candidates) {
    if (leased.length >= limit) break
    if (exclude?.has(key.ordering_key)) continue
    const token = newLeaseToken()
    ctx.s.keyLease.run(leasedUntil, leasedUntil, owner, token, key.destination, key.ordering_key)
    const row = ctx.s.eventStartAttempt.get(now, key.head_id)
    if (!row) throw new Error(`store corrupt: key ${key.ordering_key} of ${key.destination} has head ${key.head_id} which does not exist`)
    if (row.attempts === 1) {
      tally.total(key.destination, 'new', -1)
      tally.total(key.destination, 'retrying', 1)
    }
    leased.push({ ...toStoredEvent(row), leasedUntil: new Date(leasedUntil), leaseId: token })
  }
  writeTally(ctx, tally)
  return leased
}

/** Extends the lease of events that still hold their key's lease; returns those ids (the others are settled, skipped, purged or re-leased elsewhere). */
export function extendLeases(ctx: SqliteContext, ids: number[], leaseMs: number): number[] {
  const until = ctx.options.now() + (Number.isFinite(leaseMs) ? Math.max(0, leaseMs) : 0)
  const held: number[] = []
  for (const id of ids) {
    const event = ctx.s.eventBrief.get(id)
    if (event && event.status === 'pending' && ctx.s.keyExtend.run(until, until, id, event.destination, event.ordering_key).changes > 0) held.push(id)
  }
  return held
}

/**
 * When the latest lease held on one of `rowIds` by an owner other than `owner` (any owner when
 * not given) runs out, or undefined when none is held: for a suppress or purge about to take
 * those rows away (contract/regulations.ts, LeasesTaken).
 */
export function leasedElsewhereUntil(ctx: SqliteContext, rowIds: readonly number[], owner: string | undefined): number | undefined {
  if (rowIds.length === 0) return undefined
  const row = ctx
    .q<{ until: number | null }>(
      `SELECT max(leased_until) AS until FROM queue_keys
        WHERE leased_event_id IN (SELECT value FROM json_each(?)) AND leased_until > ? AND (? IS NULL OR lease_owner IS NOT ?)`
    )
    .get(JSON.stringify(rowIds), ctx.options.now(), owner ?? null, owner ?? null)
  return row?.until ?? undefined
}
