import { cleanText } from './rows'
import { loadExpander, type Expand } from './serialised'
import type { StoreLogger, StoreOptions } from './types'

const HOUR = 3_600_000

/** The destination of a store given no `destinations`, and of every row a store without destinations wrote. */
export const DEFAULT_DESTINATION = 'CustomerSuccessBox'

export const defaultStoreOptions: StoreOptions = {
  dedupeWindowMs: 24 * HOUR,
  retentionMs: 7 * 24 * HOUR
}

/** Options with every default filled in; what the engines work with. */
export interface ResolvedStoreOptions {
  dedupeWindowMs: number
  retentionMs: number
  /** At least one name, no two alike, in the order given (the first one's row id answers `enqueue`). */
  destinations: string[]
  now: () => number
  schema?: string
  poolSize: number
  /** The expander's module path (for a worker thread to load) and its function. */
  expander?: { path: string; expand: Expand }
  logger: StoreLogger
}

/** The logger of a store given none. */
export const silentLogger: StoreLogger = { warn() {}, error() {} }

export function resolveOptions(options: Partial<StoreOptions> = {}): ResolvedStoreOptions {
  const dedupeWindowMs = options.dedupeWindowMs ?? defaultStoreOptions.dedupeWindowMs
  const retentionMs = options.retentionMs ?? defaultStoreOptions.retentionMs
  for (const [name, value] of [['dedupeWindowMs', dedupeWindowMs], ['retentionMs', retentionMs]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`store option ${name} must be a number >= 0, got ${value}`)
  }
  return {
    dedupeWindowMs,
    retentionMs,
    destinations: checkDestinations(options.destinations ?? [DEFAULT_DESTINATION]),
    now: options.now ?? Date.now,
    schema: options.schema,
    poolSize: options.poolSize ?? 10,
    expander: options.expander === undefined ? undefined : { path: options.expander, expand: loadExpander(options.expander) },
    logger: options.logger ?? silentLogger
  }
}

/** Destination names as the engines need them: a non-empty list of distinct, non-empty names. */
export function checkDestinations(names: unknown): string[] {
  if (!Array.isArray(names) || names.length === 0) {
    throw new TypeError(`store option destinations must be a non-empty array of destination names, got ${JSON.stringify(names)}`)
  }
  const seen = new Set<string>()
  for (const name of names) {
    if (typeof name !== 'string' || name.length === 0 || name.length > 200 || name !== cleanText(name)) {
      throw new TypeError(`store option destinations: ${JSON.stringify(name)} is not a destination name (1 to 200 characters of text)`)
    }
    if (seen.has(name)) throw new TypeError(`store option destinations names "${name}" twice; give each destination once`)
    seen.add(name)
  }
  return [...names] as string[]
}
