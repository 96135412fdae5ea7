/**
 * Recovery: when a destination answers again after an outage, the events that wait only because
 * of that outage are made due at once (the store's `expediteRetries`), instead of each waiting
 * out its own backoff; the scheduler then leases them under the usual concurrency and rate
 * limits. During the outage nothing changes: each event's retry comes due by exponential backoff
 * with jitter (backoff.ts), and those retries are the probes that find the destination back.
 *
 * An outage, per destination: consecutive outage failures (retryable, other than a 429: a 429 is
 * the destination asking to slow down, not being away) with no success between them. It ends in
 * a recovery at the first success, when it held at least OUTAGE_MIN_FAILURES failures and lasted
 * at least `recoveryAfterMs` (from its first failure to the success). Any shorter failure run is
 * what a scattered error rate looks like, and waking everyone after it would be a retry storm;
 * its events have short backoffs anyway.
 */
import type { Store } from '../store/types'
import type { DeliveryLogger, DeliverySettings } from './types'

/**
 * Failures an outage holds at least. One event failing alone (say, a 500 its payload causes)
 * followed by another's success is not an outage: with three, at least three attempts in a row
 * failed without one success.
 */
export const OUTAGE_MIN_FAILURES = 3
/**
 * How long a recovery waits, at most, for the outcomes already queued (the outage's last
 * failures, settling as the first success arrives) to be written before it makes retries due.
 */
const SETTLE_WAIT_MS = 200

/** How an answer bears on the destination's health: 'other' (a 429, a 4xx) changes nothing. */
export type Answer = 'success' | 'outage' | 'other'

export interface RecoveryOptions {
  store: Pick<Store, 'expediteRetries'>
  settings: Pick<DeliverySettings, 'wakeOnRecovery' | 'recoveryAfterMs'>
  logger: DeliveryLogger
  /** Resolves when the outcomes queued so far are written. */
  settled(): Promise<void>
  /** Events were made due: lease now. */
  recovered(): void
}

export class RecoveryWatch {
  /** The outage under way per destination: when its first failure was seen, and how many. */
  private readonly outages = new Map<string, { since: number; failures: number }>()
  /** Recoveries made (for tests and stats). */
  recoveries = 0

  constructor(private readonly options: RecoveryOptions) {}

  answered(destination: string, answer: Answer, at: number = Date.now()): void {
    if (answer === 'other') return
    const outage = this.outages.get(destination)
    if (answer === 'outage') {
      if (outage) outage.failures++
      else this.outages.set(destination, { since: at, failures: 1 })
      return
    }
    if (!outage) return
    this.outages.delete(destination)
    const { wakeOnRecovery, recoveryAfterMs } = this.options.settings
    if (!wakeOnRecovery || outage.failures < OUTAGE_MIN_FAILURES || at - outage.since < recoveryAfterMs) return
    void this.expedite(destination, outage.since, outage.failures, at)
  }

  private async expedite(destination: string, since: number, failures: number, at: number): Promise<void> {
    const { store, logger } = this.options
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.options.settled(), new Promise((resolve) => (timer = setTimeout(resolve, SETTLE_WAIT_MS)))])
    clearTimeout(timer)
    try {
      const events = await store.expediteRetries({ destination, failedSince: new Date(since) })
      this.recoveries++
      logger.info({ destination, outageMs: at - since, failures, events }, 'delivery: destination answers again; its retries are due now')
      if (events > 0) this.options.recovered()
    } catch (err) {
      // The events keep their backoff: they are retried as scheduled.
      logger.warn({ err: String(err), destination }, 'delivery: could not make retries due after an outage; they keep their backoff')
    }
  }
}
