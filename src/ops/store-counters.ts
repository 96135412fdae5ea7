/**
 * Counters the store keeps itself, read at scrape time: every instance sharing a store reports
 * the store's totals, not its own share.
 */
import { Counter, type Registry } from 'prom-client'

export interface StoreCounterSources {
  /** Events of suppressed users dropped (every engine). */
  suppressedEvents?: () => Promise<number>
  /** SQLite: errors of the background move of admitted events into the queue (absent on other engines). */
  inboxErrors?: () => number | undefined
}

/** A counter whose value is a total read at scrape time. */
function totalCounter(registers: Registry[], name: string, help: string, read: () => Promise<number> | number): void {
  new Counter({
    name,
    help,
    registers,
    async collect() {
      const total = await read()
      this.reset()
      this.inc(total)
    }
  })
}

export function registerStoreCounters(registers: Registry[], prefix: string, sources: StoreCounterSources): void {
  const { suppressedEvents, inboxErrors } = sources
  if (suppressedEvents) {
    totalCounter(
      registers,
      `${prefix}suppressed_events_total`,
      'Events of suppressed users (regulations SUPPRESS_ONLY, SUPPRESS_WITH_DELETE) answered and dropped before the queue, since the store was created.',
      suppressedEvents
    )
  }
  if (inboxErrors && inboxErrors() !== undefined) {
    totalCounter(
      registers,
      `${prefix}store_inbox_errors_total`,
      'SQLite: failed moves of admitted events into the queue (each tried again) and inbox rows kept as dead letters because they could not be queued, since start; each is logged.',
      () => inboxErrors() ?? 0
    )
  }
}
