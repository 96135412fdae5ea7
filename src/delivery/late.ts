/**
 * Late feature events. CSB aggregates a feature event into the usage of the UTC day it is pushed
 * on; one whose own timestamp falls on another UTC day is kept but not aggregated. The relay
 * sends every event's timestamp as it is (never rewritten), and counts those, so that a backlog
 * delivered after midnight (an outage, a replay, an import) shows up instead of silently missing
 * from CSB's daily figures.
 */
import type { Exchange } from './capture'

const FEATURE_PATH = '/api/v1_1/feature'

/** The UTC day of an ISO 8601 timestamp, or null when it does not parse. */
function utcDay(timestamp: unknown): string | null {
  if (typeof timestamp !== 'string') return null
  const ms = Date.parse(timestamp)
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().slice(0, 10)
}

/** Feature requests among `exchanges` whose body's timestamp is on another UTC day than `sentAt`. */
export function lateFeatureRequests(exchanges: readonly Exchange[], sentAt: Date): number {
  const today = sentAt.toISOString().slice(0, 10)
  let late = 0
  for (const { request } of exchanges) {
    // The destination builds each URL as the base URL plus the endpoint's path (no query).
    if (typeof request.url !== 'string' || !request.url.endsWith(FEATURE_PATH)) continue
    const day = utcDay((request.body as { timestamp?: unknown } | null)?.timestamp)
    if (day !== null && day !== today) late++
  }
  return late
}
