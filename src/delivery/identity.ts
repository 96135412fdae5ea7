/**
 * The identity map rule: which account a user belongs to, learned from the events themselves,
 * and filled into events that lack an account (Engage audience events above all).
 *
 * Learned from (each time the event is attempted, in per-key order; last write wins):
 * - identify: `traits.account_id` for the user keys `traits.user_id` and `userId`
 * - group:    `traits.account_id`, else `groupId`, for the user key `userId`
 * - track / page / screen: `properties.account_id` for `properties.user_id` and `userId`
 * Filled (into a copy; the stored event stays as received) when the field is missing or empty:
 * - identify: `traits.account_id`; track / page / screen: `properties.account_id`
 *   looked up by `traits.user_id` / `properties.user_id` first, then `userId`.
 * anonymousId is never a user key. When no account is known, the event goes on unchanged and the
 * destination rejects it as a missing account_id (a dead letter that replay delivers once the
 * account is known).
 */
import type { IdentityLink, SegmentEvent } from '../store/types'

type Json = Record<string, unknown>

function asId(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'string' && value.trim() !== '') return value
  return null
}

function objectAt(event: Json, key: string): Json | undefined {
  const value = event[key]
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined
}

/** Where the event keeps its account id: `traits` for identify, `properties` for track/page/screen. */
export function accountContainer(type: string): 'traits' | 'properties' | null {
  if (type === 'identify') return 'traits'
  if (type === 'track' || type === 'page' || type === 'screen') return 'properties'
  return null
}

/** User keys of an event, in lookup order: CSB user_id first, then Segment userId. */
export function userKeysOf(event: SegmentEvent): string[] {
  const container = accountContainer(event.type)
  const keys = [container ? asId(objectAt(event, container)?.user_id) : null, asId(event.userId)]
  return [...new Set(keys.filter((k): k is string => k !== null))]
}

/** The links an event teaches (empty when it names no account or no user). */
export function linksFrom(event: SegmentEvent): IdentityLink[] {
  let accountId: string | null = null
  let keys: string[] = []
  if (event.type === 'group') {
    accountId = asId(objectAt(event, 'traits')?.account_id) ?? asId((event as Json).groupId)
    keys = [asId(event.userId)].filter((k): k is string => k !== null)
  } else {
    const container = accountContainer(event.type)
    if (!container) return []
    accountId = asId(objectAt(event, container)?.account_id)
    keys = userKeysOf(event)
  }
  if (!accountId) return []
  return keys.map((userKey) => ({ userKey, accountId: accountId as string }))
}

/** True when the event needs an account filled in (its container lacks a usable account_id). */
export function needsAccount(event: SegmentEvent): boolean {
  const container = accountContainer(event.type)
  return container !== null && asId(objectAt(event, container)?.account_id) === null
}

/** A copy of the event with `account_id` set where the destination's default mappings read it. */
export function withAccount(event: SegmentEvent, accountId: string): SegmentEvent {
  const container = accountContainer(event.type)
  if (!container) return event
  return { ...event, [container]: { ...(objectAt(event, container) ?? {}), account_id: accountId } }
}

export interface IdentityStore {
  linkIdentities(links: IdentityLink[]): Promise<void>
  accountsFor(userKeys: string[]): Promise<Map<string, string>>
}

/**
 * How long a written link is trusted (ms): a link another instance changed meanwhile is written
 * again by the next event stating it within a minute, while a user's burst of events (every track
 * carries the same account) writes it once.
 */
export const LINK_CACHE_TTL_MS = 60_000
/**
 * Links remembered at most; past it the cache starts over. A bound on its memory, well above the
 * number of users a minute of events names.
 */
export const LINK_CACHE_MAX_ENTRIES = 100_000

/**
 * Remembers the links this process wrote recently so that the same link (every track of a user
 * carries the same account) is not rewritten on each event. Entries expire after `ttlMs`, so a
 * link another instance changed meanwhile is written again by the next event that states it.
 */
export class LinkCache {
  private readonly written = new Map<string, { accountId: string; at: number }>()
  constructor(private readonly ttlMs = LINK_CACHE_TTL_MS, private readonly maxEntries = LINK_CACHE_MAX_ENTRIES) {}

  /** The links not already written (same account, within the ttl); marks them written. */
  fresh(links: IdentityLink[], now: number = Date.now()): IdentityLink[] {
    const out = links.filter((l) => {
      const seen = this.written.get(l.userKey)
      return !seen || seen.accountId !== l.accountId || now - seen.at > this.ttlMs
    })
    if (this.written.size + out.length > this.maxEntries) this.written.clear()
    for (const l of out) this.written.set(l.userKey, { accountId: l.accountId, at: now })
    return out
  }

  forget(links: IdentityLink[]): void {
    for (const l of links) this.written.delete(l.userKey)
  }
}

/** Fills the event's account when it lacks one, from the identity map. */
export async function fillAccount(event: SegmentEvent, store: Pick<IdentityStore, 'accountsFor'>): Promise<{ event: SegmentEvent; filledAccount: string | null }> {
  if (!needsAccount(event)) return { event, filledAccount: null }
  const keys = userKeysOf(event)
  if (keys.length === 0) return { event, filledAccount: null }
  const accounts = await store.accountsFor(keys)
  for (const key of keys) {
    const accountId = accounts.get(key)
    if (accountId) return { event: withAccount(event, accountId), filledAccount: accountId }
  }
  return { event, filledAccount: null }
}
