/**
 * Late feature events. CSB aggregates a feature event into the usage of the UTC day it is pushed
 * on; one whose own timestamp falls on another UTC day is kept but not aggregated. The relay
 * sends every event's timestamp as it is (never rewritten), and counts those, so that a backlog
 * delivered after midnight (an outage, a replay, an import) shows up instead of silently missing
 * from CSB's daily figures.
 */
import { FEATURE_TIMESTAMP_FIELD, isFeatureRequest } from '../destination'
import type { Exchange } from './capture'

const DAY_MS = 86_400_000

/** Days since the epoch, in UTC, of a time in milliseconds. */
function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS)
}

/**
 * Feature requests among the exchanges of a delivery's subscription runs whose body's timestamp
 * is on another UTC day than `sentAtMs`. Called for every delivered event: it reads the exchanges
 * in place and parses a timestamp only for a feature request.
 */
export function lateFeatureRequests(runs: ReadonlyArray<{ exchanges: readonly Exchange[] }>, sentAtMs: number): number {
  const sentDay = utcDay(sentAtMs)
  let late = 0
  for (const run of runs) {
    for (const { request } of run.exchanges) {
      if (typeof request.url !== 'string' || !isFeatureRequest(request.url)) continue
      const timestamp = (request.body as Record<string, unknown> | null)?.[FEATURE_TIMESTAMP_FIELD]
      const ms = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN
      if (!Number.isNaN(ms) && utcDay(ms) !== sentDay) late++
    }
  }
  return late
}
