import type { CompleteItem, DeadLetterItem, DeliverySamples, RetryItem, SkipItem } from './types'

/**
 * One outcome as both engines apply it. The rules (docs/store.md, "Leases and outcomes"):
 * - an outcome for an event that is no longer pending is ignored: the first outcome wins;
 * - an outcome carrying a `leaseId` that is not its key's current lease is ignored: that lease
 *   expired and another worker holds the event now, and that worker's outcome will count;
 * - otherwise the event changes, its key's lease is released when this event held it, and the
 *   key's head moves to the next pending event.
 */
export interface Settlement {
  id: string
  leaseId?: string
  /** 'pending' keeps the event queued (retry later). */
  status: 'delivered' | 'dead' | 'skipped' | 'pending'
  runAt?: number
  /** A retry the destination asked for (Retry-After): not expedited before this time. */
  notBefore?: number
  error?: string | null
  action?: string | null
  httpStatus?: number | null
  samples?: DeliverySamples | null
  finishedAt?: number
}

/** A Date's ms, or undefined (meaning "now") when it is missing or invalid. */
const validMs = (date: Date | undefined): number | undefined => {
  const ms = date instanceof Date ? date.getTime() : Number.NaN
  return Number.isFinite(ms) ? ms : undefined
}

export const fromComplete = (items: CompleteItem[]): Settlement[] =>
  items.map((i) => ({ id: i.id, leaseId: i.leaseId, status: 'delivered', action: i.action, httpStatus: i.status, samples: i.samples, finishedAt: validMs(i.finishedAt) }))

export const fromSkip = (items: SkipItem[]): Settlement[] =>
  items.map((i) => ({ id: i.id, leaseId: i.leaseId, status: 'skipped', error: i.reason }))

export const fromRetry = (items: RetryItem[]): Settlement[] =>
  items.map((i) => ({ id: i.id, leaseId: i.leaseId, status: 'pending', runAt: validMs(i.runAt), notBefore: validMs(i.notBefore), error: i.error, action: i.action, httpStatus: i.status, samples: i.samples }))

export const fromDeadLetter = (items: DeadLetterItem[]): Settlement[] =>
  items.map((i) => ({ id: i.id, leaseId: i.leaseId, status: 'dead', error: i.reason, action: i.action, httpStatus: i.status, samples: i.samples }))

/** Whether an outcome may be applied, given the event and its key's current lease. */
export function mayApply(
  item: Settlement,
  event: { id: number; status: string } | undefined,
  key: { leased_event_id: number | null; lease_token: string | null } | undefined
): { apply: boolean; holdsLease: boolean } {
  if (!event || event.status !== 'pending') return { apply: false, holdsLease: false }
  const holdsLease = key !== undefined && key.leased_event_id !== null && Number(key.leased_event_id) === event.id
  if (item.leaseId !== undefined && !(holdsLease && key!.lease_token === item.leaseId)) return { apply: false, holdsLease }
  return { apply: true, holdsLease }
}
