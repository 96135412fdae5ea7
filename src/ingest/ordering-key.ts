/**
 * The ordering key of an event: events with the same key reach CustomerSuccessBox in the
 * order received. The CSB user (a `user_id` in traits or properties) when the event names
 * one, else Segment's `userId`, else `anonymousId`. Delivery's identity map may refine it.
 */
import type { SegmentEvent } from '../store/types'

function csbUserId(bag: unknown): string | undefined {
  if (!bag || typeof bag !== 'object') return undefined
  const value = (bag as Record<string, unknown>).user_id
  if (typeof value === 'string' && value !== '') return value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}

export function orderingKeyOf(event: SegmentEvent): string {
  const context = event.context as Record<string, unknown> | undefined
  const csbUser = csbUserId(event.traits) ?? csbUserId(event.properties) ?? csbUserId(context?.traits)
  if (csbUser !== undefined) return csbUser
  if (typeof event.userId === 'string' && event.userId !== '') return event.userId
  return event.anonymousId ?? ''
}
