import { loadExpander, type Expand } from './serialised'
import type { StoreLogger, StoreOptions } from './types'

const HOUR = 3_600_000

export const defaultStoreOptions: StoreOptions = {
  dedupeWindowMs: 24 * HOUR,
  retentionMs: 7 * 24 * HOUR
}

/** Options with every default filled in; what the engines work with. */
export interface ResolvedStoreOptions {
  dedupeWindowMs: number
  retentionMs: number
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
    now: options.now ?? Date.now,
    schema: options.schema,
    poolSize: options.poolSize ?? 10,
    expander: options.expander === undefined ? undefined : { path: options.expander, expand: loadExpander(options.expander) },
    logger: options.logger ?? silentLogger
  }
}
