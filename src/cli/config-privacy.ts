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
/** Below this, prunes would follow each other with hardly a pause (each one ends with a WAL checkpoint). */
export const MIN_PRUNE_INTERVAL_MS = 1_000

/** Milliseconds set beside the days in the config file (`store.retentionMs`, `store.deadLetterRetentionMs`), when set. */
export interface RetentionMs {
  retentionMs?: number
  deadLetterRetentionMs?: number
}

/**
 * The store's retention from `store.retentionDays` and `store.deadLetterRetentionDays`. A file may
 * set either in milliseconds instead (`store.retentionMs`, `store.deadLetterRetentionMs`: exact,
 * for retentions shorter than a day); setting both forms of one is refused, since they would
 * disagree. `daysSet` names the days keys the file itself sets.
 */
export function retentionOf<T extends { retentionDays: number; deadLetterRetentionDays: number; pruneIntervalMs: number }>(
  merged: T,
  ms: RetentionMs,
  daysSet: { retentionDays: boolean; deadLetterRetentionDays: boolean }
): T & { retentionMs: number; deadLetterRetentionMs: number } {
  for (const [msKey, daysKey] of [['retentionMs', 'retentionDays'], ['deadLetterRetentionMs', 'deadLetterRetentionDays']] as const) {
    if (ms[msKey] !== undefined && daysSet[daysKey]) {
      throw new ConfigError(`"store.${msKey}" and "store.${daysKey}" are both set: keep one (${daysKey}, in days, is the documented one)`)
    }
  }
  if (merged.pruneIntervalMs < MIN_PRUNE_INTERVAL_MS) {
    throw new ConfigError(
      `"store.pruneIntervalMs" must be at least ${MIN_PRUNE_INTERVAL_MS} (milliseconds between prunes; the default, 3600000, prunes hourly), got ${merged.pruneIntervalMs}`
    )
  }
  return {
    ...merged,
    retentionDays: ms.retentionMs === undefined ? merged.retentionDays : ms.retentionMs / DAY_MS,
    deadLetterRetentionDays: ms.deadLetterRetentionMs === undefined ? merged.deadLetterRetentionDays : ms.deadLetterRetentionMs / DAY_MS,
    retentionMs: ms.retentionMs ?? merged.retentionDays * DAY_MS,
    deadLetterRetentionMs: ms.deadLetterRetentionMs ?? merged.deadLetterRetentionDays * DAY_MS
  }
}
