/**
 * The ordering key of an event: events with the same key reach CustomerSuccessBox in the
 * order received. The CSB user (a `user_id` in traits or properties) when the event names
 * one, else Segment's `userId`, else `anonymousId`. Delivery's identity map may refine it.
 *
 * Junk ids (junk-ids.ts) are no key: normalisation removes them, and they are skipped here too.
 * An event left with no id at all gets a key of its own (from its messageId) rather than one key
 * shared by every such event, where one stuck event would hold back all the others.
 */
import type { SegmentEvent } from '../store/types'
import { isJunkId } from './junk-ids'

/** The key of an event without any usable id: its own. */
export const NO_ID_KEY_PREFIX = 'no-id:'

function usable(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' || isJunkId(value) ? undefined : value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return undefined
}

function csbUserId(bag: unknown): string | undefined {
  if (!bag || typeof bag !== 'object') return undefined
  return usable((bag as Record<string, unknown>).user_id)
}

export function orderingKeyOf(event: SegmentEvent): string {
  const context = event.context as Record<string, unknown> | undefined
  return (
    csbUserId(event.traits) ??
    csbUserId(event.properties) ??
    csbUserId(context?.traits) ??
    usable(event.userId) ??
    usable(event.anonymousId) ??
    `${NO_ID_KEY_PREFIX}${event.messageId}`
  )
}
