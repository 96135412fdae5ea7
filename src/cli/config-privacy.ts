/**
 * The privacy settings of the config file: `consent` (which end-user consent categories each
 * destination needs; docs/privacy.md). Checked at start so that a misspelt destination name cannot
 * leave a destination unguarded: every key must name a destination the relay delivers to.
 */
import { ConfigError } from './config-error'

export type ConsentConfig = Record<string, string[]>

/** The built-in destination's name, as `consent` keys it. */
export const CSB_DESTINATION_NAME = 'CustomerSuccessBox'

const EXAMPLE = '{"consent": {"CustomerSuccessBox": ["analytics"]}}'

/** Names of the destinations a config file declares: CSB and each `destinations[].name`. */
export function destinationNamesOf(fileDestinations: unknown): string[] {
  const names = [CSB_DESTINATION_NAME]
  if (Array.isArray(fileDestinations)) {
    for (const d of fileDestinations) {
      const name = (d as { name?: unknown } | null)?.name
      if (typeof name === 'string' && name !== '') names.push(name)
    }
  }
  return names
}

/** Reads `consent`; undefined when absent. Throws ConfigError naming the entry and the fix. */
export function parseConsent(fromFile: unknown, destinations: readonly string[]): ConsentConfig | undefined {
  if (fromFile === undefined) return undefined
  if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
    throw new ConfigError(`"consent" must be an object of destination name → consent categories, e.g. ${EXAMPLE}`)
  }
  const out: ConsentConfig = {}
  for (const [name, categories] of Object.entries(fromFile)) {
    if (!destinations.includes(name)) {
      throw new ConfigError(`"consent.${name}" names no destination; known: ${destinations.join(', ')} (names are case-sensitive)`)
    }
    if (!Array.isArray(categories) || categories.length === 0 || !categories.every((c) => typeof c === 'string' && c.trim() !== '')) {
      throw new ConfigError(`"consent.${name}" must be a non-empty list of category names, e.g. ${EXAMPLE}; got ${JSON.stringify(categories)}`)
    }
    out[name] = [...new Set(categories as string[])]
  }
  return out
}

const DAY_MS = 24 * 3_600_000

/**
 * The store's retention from `store.retentionDays` and `store.deadLetterRetentionDays`. A file may
 * set the finished events' retention as `store.retentionMs` instead (exact, for short
 * retentions); setting both is refused, since they would disagree.
 */
export function retentionOf<T extends { retentionDays: number; deadLetterRetentionDays: number }>(
  merged: T,
  retentionMs: number | undefined,
  daysSet: boolean
): T & { retentionMs: number; deadLetterRetentionMs: number } {
  if (retentionMs !== undefined && daysSet) {
    throw new ConfigError('"store.retentionMs" and "store.retentionDays" are both set: keep one (retentionDays, in days, is the documented one)')
  }
  return {
    ...merged,
    retentionDays: retentionMs === undefined ? merged.retentionDays : retentionMs / DAY_MS,
    retentionMs: retentionMs ?? merged.retentionDays * DAY_MS,
    deadLetterRetentionMs: merged.deadLetterRetentionDays * DAY_MS
  }
}
