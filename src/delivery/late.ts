/**
 * Late feature events. CSB aggregates a feature event into the usage of the UTC day it is pushed
 * on; one whose own timestamp falls on another UTC day is kept but not aggregated. The relay
 * sends every event's timestamp as it is (never rewritten), and counts those, so that a backlog
 * delivered after midnight (an outage, a replay, an import) shows up instead of silently missing
 * from CSB's daily figures.
 */
import type { Exchange } from './capture'

const FEATURE_PATH = '/api/v1_1/feature'

const DAY_MS = 86_400_000

/** Days since the epoch, in UTC, of a time in milliseconds. */
function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS)
}

/**
 * Feature requests among the exchanges of a delivery's subscription runs whose body's timestamp
 * is on another UTC day than `sentAt`. Called for every delivered event: it reads the exchanges
 * in place and parses a timestamp only for a feature request.
 */
export function lateFeatureRequests(runs: ReadonlyArray<{ exchanges: readonly Exchange[] }>, sentAt: Date): number {
  let late = 0
  for (const run of runs) {
    for (const { request } of run.exchanges) {
      // The destination builds each URL as the base URL plus the endpoint's path (no query).
      if (typeof request.url !== 'string' || !request.url.endsWith(FEATURE_PATH)) continue
      const timestamp = (request.body as { timestamp?: unknown } | null)?.timestamp
      const ms = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN
      if (!Number.isNaN(ms) && utcDay(ms) !== utcDay(sentAt.getTime())) late++
    }
  }
  return late
}
