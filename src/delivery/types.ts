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

/** A Segment-style subscription: FQL `subscribe`, the action's slug and its field mapping. */
export interface SubscriptionConfig {
  name?: string
  subscribe: string
  partnerAction: string
  mapping?: Record<string, unknown>
}

export interface DeliverySettings {
  maxConcurrency: number
  initialConcurrency: number
  minConcurrency: number
  adaptive: boolean
  maxRatePerSecond: number
  backoffBaseMs: number
  backoffCapMs: number
  retryWindowMs: number
  requestTimeoutMs: number
  leaseMs: number
  pollIntervalMs: number
}

/** The part of the relay's configuration delivery uses. */
export interface DeliveryConfig {
  csb?: CsbSettings
  subscriptions?: SubscriptionConfig[]
  filters?: unknown[]
  delivery: DeliverySettings
}

/** The same defaults as src/cli/config.ts, for callers (tests, bench) that build a config by hand. */
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
  pollIntervalMs: 50
}

/** Minimal logger surface (pino satisfies it). */
export interface DeliveryLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  debug?(obj: object, msg?: string): void
}
