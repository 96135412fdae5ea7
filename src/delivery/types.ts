/**
 * The settings delivery reads. Structurally the same as the CLI's `RelayConfig` parts
 * (src/cli/config.ts), declared here because delivery must not import cli/.
 */

/** CustomerSuccessBox settings handed to the destination (its `Settings`). */
export interface CsbSettings {
  apiKey: string
  baseUrl: string
  authScheme?: 'bearer' | 'basic'
  defaultProductId?: string
  defaultModuleId?: string
  prefixCustomTraits?: boolean
}

/** What a destination's actions get as settings: CsbSettings for CSB, the definition's settings for the others. */
export type DestinationSettings = CsbSettings | Record<string, unknown>

/** A Segment-style subscription: FQL `subscribe`, the action's slug and its field mapping. */
export interface SubscriptionConfig {
  name?: string
  subscribe: string
  partnerAction: string
  mapping?: Record<string, unknown>
}

export interface DeliverySettings {
  /** Highest number of requests to CSB in flight at once. */
  maxConcurrency: number
  /** Concurrency the adaptive limiter starts at. */
  initialConcurrency: number
  /** Lowest concurrency the adaptive limiter falls to. */
  minConcurrency: number
  /** Adapt concurrency to 429s and 5xx (additive increase, multiplicative decrease). */
  adaptive: boolean
  /** Optional fixed ceiling on requests per second to CSB (0 = none). */
  maxRatePerSecond: number
  /** Exponential backoff with full jitter: base and cap, in ms. */
  backoffBaseMs: number
  backoffCapMs: number
  /** How long retryable failures are retried before dead-lettering, in ms. */
  retryWindowMs: number
  /** Timeout of one request to CSB, in ms. */
  requestTimeoutMs: number
  /** Lease length; a crashed worker's events are picked up again after it. */
  leaseMs: number
  /** How often idle workers poll the store, in ms. */
  pollIntervalMs: number
  /**
   * When CSB answers again after an outage, make the retries it caused due at once instead of
   * each waiting out its backoff (recovery.ts).
   */
  wakeOnRecovery: boolean
  /** An outage shorter than this (from its first failure to the first success after it) wakes nothing, in ms. */
  recoveryAfterMs: number
  /** Distinct feature names the relay sends to CSB, at most (CSB keeps 256 per instance; 0 = no limit). See names.ts. */
  maxDistinctFeatures: number
  /** Distinct module names the relay sends to CSB, at most (CSB keeps 256 per instance; 0 = no limit). */
  maxDistinctModules: number
}

/** The part of the relay's configuration delivery uses. */
export interface DeliveryConfig {
  csb?: CsbSettings
  subscriptions?: SubscriptionConfig[]
  filters?: unknown[]
  /** Destination name → the consent categories it needs (routing/consent.ts). */
  consent?: Readonly<Record<string, readonly string[]>>
  delivery: DeliverySettings
}

/** Delivery's defaults: the one place they are set (the CLI's config loader uses them too). */
export const deliveryDefaults: DeliverySettings = {
  maxConcurrency: 64,
  initialConcurrency: 16,
  minConcurrency: 1,
  adaptive: true,
  maxRatePerSecond: 0,
  backoffBaseMs: 1000,
  backoffCapMs: 5 * 60_000,
  retryWindowMs: 24 * 3_600_000,
  requestTimeoutMs: 10_000,
  leaseMs: 60_000,
  pollIntervalMs: 50,
  wakeOnRecovery: true,
  // Shorter failure runs are what a scattered error rate looks like (recovery.ts), and leave
  // backoffs of a few seconds at most (backoffBaseMs 1 s).
  recoveryAfterMs: 2000,
  maxDistinctFeatures: 256,
  maxDistinctModules: 256
}

/** Minimal logger surface (pino satisfies it). */
export interface DeliveryLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  debug?(obj: object, msg?: string): void
}

/** The name delivery gives CustomerSuccessBox, the built-in destination, everywhere (store rows, metrics, CLI). */
export const CSB_DESTINATION = 'CustomerSuccessBox'

/**
 * One of Segment's Actions definitions (or an in-house one) run beside CustomerSuccessBox
 * (docs/destinations.md). Parsed by the CLI; its definition, settings and mappings are checked
 * by delivery at start (definitions.ts, destination-check.ts).
 */
export interface DestinationConfig {
  /** Unique; the store's rows, metrics, the CLI and the integrations object use it. */
  name: string
  /** A folder of @segment/action-destinations, its slug (`actions-webhook`), or a path to a module. */
  definition: string
  settings: Record<string, unknown>
  /** Replaces the definition's automatic presets when present. */
  subscriptions?: SubscriptionConfig[]
  /** Destination filters for this destination alone (same rules as the top-level `filters`). */
  filters?: unknown[]
  /** Overrides of the delivery settings for this destination (concurrency, rate, retries...). */
  delivery?: Partial<DeliverySettings>
}
