/**
 * The subscriptions in force: which events run which action with which mapping.
 *
 * Default: the destination's automatic presets. A config file's `subscriptions` replaces them
 * entirely. Each is checked once, at start: the action must exist, the FQL must parse, the
 * mapping's directives must be valid; the error names the subscription and how to fix it.
 */
import { checkMapping, matchesFql, parseFql, type ParsedFql } from './actions-core'
import type { SubscriptionConfig } from './types'

/** The parts of a destination definition this module reads. */
export interface DefinitionLike {
  actions: Record<string, unknown>
  presets?: ReadonlyArray<{ name?: string; subscribe?: string; partnerAction: string; mapping?: Record<string, unknown>; type?: string }>
}

export interface ActiveSubscription {
  /** The subscription's name, or `#i partnerAction` when it has none. */
  name: string
  subscribe: string
  partnerAction: string
  mapping: Record<string, unknown>
  /** The parsed FQL (destination-subscriptions' shape). */
  parsed: ParsedFql
}

export class SubscriptionError extends Error {
  override name = 'SubscriptionError'
}

/** The destination's automatic presets as subscriptions. */
export function defaultSubscriptions(definition: DefinitionLike): SubscriptionConfig[] {
  return (definition.presets ?? [])
    .filter((p) => typeof p.subscribe === 'string' && (p.type === undefined || p.type === 'automatic'))
    .map((p) => ({ name: p.name, subscribe: p.subscribe as string, partnerAction: p.partnerAction, mapping: p.mapping ?? {} }))
}

/** Checks and parses subscriptions; throws a SubscriptionError naming the first bad one. */
export function compileSubscriptions(configured: unknown, definition: DefinitionLike): ActiveSubscription[] {
  if (!Array.isArray(configured)) {
    throw new SubscriptionError('"subscriptions" must be an array of {"subscribe", "partnerAction", "mapping"}')
  }
  const known = Object.keys(definition.actions)
  const names = new Set<string>()
  return configured.map((raw, i) => {
    const sub = (raw ?? {}) as Partial<SubscriptionConfig>
    const label = `subscription #${i + 1}${typeof sub.name === 'string' && sub.name ? ` ("${sub.name}")` : ''}`
    if (typeof sub.partnerAction !== 'string' || !(sub.partnerAction in definition.actions)) {
      throw new SubscriptionError(
        `${label}: unknown partnerAction ${JSON.stringify(sub.partnerAction)}. Use one of: ${known.join(', ')}`
      )
    }
    if (typeof sub.subscribe !== 'string' || sub.subscribe.trim() === '') {
      throw new SubscriptionError(`${label}: "subscribe" must be an FQL condition such as type = "track" or event = "Order Completed"`)
    }
    const parsed = parseFql(sub.subscribe)
    const parseError = (parsed as { error?: Error }).error
    if (parseError) {
      throw new SubscriptionError(
        `${label}: invalid "subscribe" FQL ${JSON.stringify(sub.subscribe)}: ${parseError.message}. ` +
          'Write conditions like type = "page" or (type = "track" and event = "Signed Up")'
      )
    }
    const mapping = sub.mapping ?? {}
    if (!mapping || typeof mapping !== 'object' || Array.isArray(mapping)) {
      throw new SubscriptionError(`${label}: "mapping" must be an object of field → value or directive (e.g. {"@path": "$.properties.name"})`)
    }
    try {
      checkMapping(mapping as Record<string, unknown>)
    } catch (err) {
      throw new SubscriptionError(`${label}: invalid mapping: ${(err as Error).message}`)
    }
    const name = typeof sub.name === 'string' && sub.name ? sub.name : `#${i + 1} ${sub.partnerAction}`
    if (names.has(name)) throw new SubscriptionError(`${label}: the name "${name}" is used twice; give each subscription its own name`)
    names.add(name)
    return {
      name,
      subscribe: sub.subscribe,
      partnerAction: sub.partnerAction,
      mapping: mapping as Record<string, unknown>,
      parsed
    }
  })
}

/** The subscriptions an event matches, in configured order. */
export function matching(subscriptions: ActiveSubscription[], event: unknown): ActiveSubscription[] {
  return subscriptions.filter((s) => matchesFql(s.parsed, event))
}
