/**
 * The config file's `destinations`: Segment Actions definitions (or in-house ones) run beside
 * CustomerSuccessBox. This checks the shape of each entry; the definition itself, its settings and
 * its mappings are checked by delivery when it loads them (`loadDestinations`), before anything opens.
 */
import { CSB_DESTINATION, deliveryDefaults, type DeliverySettings, type DestinationConfig, type SubscriptionConfig } from '../delivery'

export type { DestinationConfig }

/** Letters, digits, and `_ - . space`: a name goes into metric labels, URLs and the CLI's arguments. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_. -]{0,63}$/
const ENTRY_KEYS = new Set(['name', 'definition', 'settings', 'subscriptions', 'filters', 'delivery'])

export class DestinationsConfigError extends Error {
  override name = 'DestinationsConfigError'
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** Parses `destinations`; throws DestinationsConfigError naming the entry, the field and the fix. */
export function parseDestinations(raw: unknown): DestinationConfig[] {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) {
    throw new DestinationsConfigError('"destinations" must be an array of {"name", "definition", "settings", "subscriptions"?}')
  }
  const names = new Set<string>()
  return raw.map((entry, i) => {
    const at = `destinations[${i}]`
    if (!isObject(entry)) throw new DestinationsConfigError(`${at} must be an object: {"name", "definition", "settings", "subscriptions"?}`)
    for (const key of Object.keys(entry)) {
      if (!ENTRY_KEYS.has(key)) throw new DestinationsConfigError(`unknown setting "${at}.${key}"; known: ${[...ENTRY_KEYS].join(', ')}`)
    }
    const { name, definition, settings, subscriptions, filters, delivery } = entry
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new DestinationsConfigError(
        `${at}.name must be 1 to 64 letters, digits, "_", "-", "." or spaces, starting with a letter or digit; got ${JSON.stringify(name)}`
      )
    }
    const label = `destination "${name}" (${at})`
    if (name === CSB_DESTINATION) {
      throw new DestinationsConfigError(`${label}: the name "${CSB_DESTINATION}" is the built-in destination, configured by "csb" and CSB_API_KEY; choose another name`)
    }
    if (names.has(name)) throw new DestinationsConfigError(`${label}: the name is used twice; give each destination its own name`)
    names.add(name)
    if (typeof definition !== 'string' || definition.trim() === '') {
      throw new DestinationsConfigError(
        `${label}.definition must be a folder of @segment/action-destinations ("webhook"), its slug ("actions-webhook") or a path to a module ("./my-destination.js")`
      )
    }
    if (settings !== undefined && !isObject(settings)) throw new DestinationsConfigError(`${label}.settings must be an object of the definition's settings`)
    if (subscriptions !== undefined && !Array.isArray(subscriptions)) {
      throw new DestinationsConfigError(`${label}.subscriptions must be an array of {"subscribe", "partnerAction", "mapping"}, or left out for the definition's presets`)
    }
    if (filters !== undefined && !Array.isArray(filters)) throw new DestinationsConfigError(`${label}.filters must be an array of filter rules`)
    const parsed: DestinationConfig = { name, definition: definition.trim(), settings: (settings as Record<string, unknown> | undefined) ?? {} }
    if (subscriptions !== undefined) parsed.subscriptions = subscriptions as SubscriptionConfig[]
    if (filters !== undefined) parsed.filters = filters as unknown[]
    if (delivery !== undefined) parsed.delivery = deliveryOverrides(delivery, label)
    return parsed
  })
}

function deliveryOverrides(raw: unknown, label: string): Partial<DeliverySettings> {
  if (!isObject(raw)) throw new DestinationsConfigError(`${label}.delivery must be an object of delivery settings`)
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in deliveryDefaults)) {
      throw new DestinationsConfigError(`unknown setting "${label}.delivery.${key}"; known: ${Object.keys(deliveryDefaults).join(', ')}`)
    }
    const current = (deliveryDefaults as unknown as Record<string, unknown>)[key]
    if (typeof current === 'boolean' ? typeof value !== 'boolean' : typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new DestinationsConfigError(`${label}.delivery.${key} must be ${typeof current === 'boolean' ? 'true or false' : 'an integer >= 0'}, got ${JSON.stringify(value)}`)
    }
    out[key] = value
  }
  return out as Partial<DeliverySettings>
}
