import { parseId, samplesText } from '../rows'
import { Tally } from '../tally'
import type { CompleteItem, DeadLetterItem, DeliverySamples, RetryItem, SkipItem } from '../types'
import { refreshKey, writeTally, type SqliteContext } from './context'

/** What an outcome does to its event. */
interface Settlement {
  id: string
  leaseId?: string
  /** 'pending' keeps the event queued (retry later). */
  status: 'delivered' | 'dead' | 'skipped' | 'pending'
  runAt?: number
  error?: string | null
  action?: string | null
  httpStatus?: number | null
  samples?: DeliverySamples | null
  finishedAt?: number
}

/**
 * Applies outcomes. The rules (docs/store.md, "Leases"):
 * - an outcome for an event that is no longer pending is ignored: the first outcome wins;
 * - an outcome carrying a `leaseId` that is not its key's current lease is ignored: the lease
 *   expired and another worker holds the event now, and that worker's outcome will count;
 * - otherwise the event changes, its key's lease is released when this event held it, and the
 *   key's head moves to the next pending event.
 */
function settle(ctx: SqliteContext, items: Settlement[]): void {
  const now = ctx.options.now()
  const tally = new Tally()
  const touched = new Set<string>()
  for (const item of items) {
    const id = parseId(item.id)
    if (id === null) continue
    const event = ctx.s.eventBrief.get(id)
    if (!event || event.status !== 'pending') continue
    const key = ctx.s.keyGet.get(event.ordering_key)
    const holdsLease = key !== undefined && key.leased_event_id === id
    if (item.leaseId !== undefined && !(holdsLease && key.lease_token === item.leaseId)) continue
    const retrying = item.status === 'pending'
    ctx.s.eventSettle.run(
      item.status,
      retrying ? item.runAt ?? now : null,
      item.error ?? null,
      retrying ? 1 : 0,
      now,
      retrying ? null : item.finishedAt ?? now,
      now,
      item.action ?? null,
      item.httpStatus ?? null,
      samplesText(item.samples),
      id
    )
    if (holdsLease) ctx.s.keyRelease.run(event.ordering_key)
    touched.add(event.ordering_key)
    if (!retrying) {
      tally.total(Tally.unfinished(event.attempts), -1)
      tally.total(item.status as 'delivered' | 'dead' | 'skipped', 1)
    }
    tally.outcome(now, retrying ? 'retrying' : (item.status as 'delivered' | 'dead' | 'skipped'))
  }
  for (const key of touched) refreshKey(ctx, key)
  writeTally(ctx, tally)
}

export function completeEvents(ctx: SqliteContext, items: CompleteItem[]): void {
  settle(ctx, items.map((i) => ({ id: i.id, leaseId: i.leaseId, status: 'delivered', action: i.action, httpStatus: i.status, samples: i.samples, finishedAt: i.finishedAt?.getTime() })))
}

export function skipEvents(ctx: SqliteContext, items: SkipItem[]): void {
  settle(ctx, items.map((i) => ({ id: i.id, leaseId: i.leaseId, status: 'skipped', error: i.reason })))
}

export function retryEvents(ctx: SqliteContext, items: RetryItem[]): void {
  settle(ctx, items.map((i) => ({ id: i.id, leaseId: i.leaseId, status: 'pending', runAt: i.runAt.getTime(), error: i.error, action: i.action, httpStatus: i.status, samples: i.samples })))
}

export function deadLetterEvents(ctx: SqliteContext, items: DeadLetterItem[]): void {
  settle(ctx, items.map((i) => ({ id: i.id, leaseId: i.leaseId, status: 'dead', error: i.reason, action: i.action, httpStatus: i.status, samples: i.samples })))
}
