/**
 * What delivery reports as it works. The CLI passes an implementation backed by the metrics
 * registry and the logger (ops/); delivery never imports ops. Every method is optional.
 */
export type DeliveryOutcome = 'delivered' | 'retrying' | 'dead' | 'skipped'

export interface OutcomeReport {
  outcome: DeliveryOutcome
  /** The destination's name; delivery always sets it (absent: `CustomerSuccessBox`, the built-in one). */
  destination?: string
  /** Action slug that ran (e.g. "trackFeature"), or null when none did. */
  action: string | null
  /** HTTP status from CSB, or null (network error, skipped, validation). */
  status: number | null
  /** Why it failed or was skipped; never contains the API key. */
  reason?: string
  eventId: string
  messageId: string
  attempts: number
  /** receivedAt to now, in ms (delivered only). */
  endToEndMs?: number
  /**
   * Feature requests of this attempt that CSB accepted and whose timestamp falls on another UTC
   * day than the day they were sent (when any; on any outcome, since a retry skips subscriptions
   * that already succeeded): CSB does not aggregate them into that day (late.ts).
   */
  lateFeatures?: number
}

export interface DeliveryObserver {
  outcome?(report: OutcomeReport): void
  /** The limiter changed the number of requests allowed in flight. */
  concurrency?(current: number, destination?: string): void
  storeLatency?(operation: string, seconds: number): void
}
