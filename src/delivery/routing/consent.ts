/**
 * End-user consent, checked before the integrations object so that no flag can send an event the
 * user did not consent to. Two shapes are read, both from `context`:
 *
 * - Segment's `consent.categoryPreferences` (`{"analytics": true, "ads": false}`): a destination
 *   mapped to categories gets the event only if every one of them is `true`. A category the event
 *   does not name counts as not consented, so `{}` blocks every mapped destination. Without
 *   `categoryPreferences` the event carries no consent decision and flows.
 * - RudderStack's `consentManagement` (`deniedConsentIds`, `resolutionStrategy`): with `and` (the
 *   default) the event is blocked when any of the destination's categories is denied; with `or`
 *   only when all of them are.
 *
 * An event that carries both is blocked when either blocks. Destinations the config does not map
 * get everything; categories no destination maps are ignored.
 */

/** The skip reason of an event held back by consent: Segment's wording, so reports read alike. */
export const CONSENT_SKIP_REASON = 'Filtered by end user consent'

/** Config `consent`: destination name → the categories it needs (checked by the config loader). */
export type ConsentMap = Readonly<Record<string, readonly string[]>>

/** Returns true when the event must not reach the destination. */
export type ConsentCheck = (context: unknown) => boolean

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The check for one destination; a destination without categories never blocks. */
export function compileConsentCheck(consent: ConsentMap | undefined, destination: string): ConsentCheck {
  const categories = consent && Object.prototype.hasOwnProperty.call(consent, destination) ? [...new Set(consent[destination])] : []
  if (categories.length === 0) return () => false
  return (context) => {
    if (!isObject(context)) return false
    return segmentBlocks(context.consent, categories) || rudderBlocks(context.consentManagement, categories)
  }
}

function segmentBlocks(consent: unknown, categories: string[]): boolean {
  if (!isObject(consent) || !isObject(consent.categoryPreferences)) return false
  const preferences = consent.categoryPreferences
  return categories.some((category) => !Object.prototype.hasOwnProperty.call(preferences, category) || preferences[category] !== true)
}

function rudderBlocks(management: unknown, categories: string[]): boolean {
  if (!isObject(management) || !Array.isArray(management.deniedConsentIds)) return false
  const denied = new Set(management.deniedConsentIds.filter((id): id is string => typeof id === 'string'))
  if (denied.size === 0) return false
  const strategy = typeof management.resolutionStrategy === 'string' ? management.resolutionStrategy.toLowerCase() : 'and'
  return strategy === 'or' ? categories.every((c) => denied.has(c)) : categories.some((c) => denied.has(c))
}
