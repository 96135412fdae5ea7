/**
 * The dashboard's and `csb-relay status`'s summary of a period: outcome totals and rates,
 * a time series for the chart, backlog, p95 latency and errors grouped by reason with fixes.
 */
import type { Counts, DestinationCounts, Outcome, Store } from '../store/types'
import { backlogOf } from '../store/types'
import { suggestFix } from './fixes'
import type { Period } from './period'

export const OUTCOMES: Outcome[] = ['ingested', 'delivered', 'retrying', 'dead', 'skipped']

export type OutcomeTotals = Record<Outcome, number>

export interface SeriesPoint extends OutcomeTotals {
  at: string
}

export interface Overview {
  period: string
  from: string
  to: string
  bucketSeconds: number
  engine: string
  /** `admitted`: committed by ingest, not yet moved into the queue (SQLite's inbox during a burst). */
  backlog: { total: number; admitted: number; pending: number; retrying: number; inFlight: number; oldestWaitingSeconds: number | null }
  stored: { delivered: number; dead: number; skipped: number }
  totals: OutcomeTotals
  /** Events per minute over the period. */
  perMinute: OutcomeTotals
  /**
   * Share of the events delivery tried to the end that were delivered: delivered ÷ (delivered +
   * dead), 0..1, or null when there were none. Skips (integrations off, a filter, no
   * subscription, consent, a suppression) are left out: nothing was meant to be sent.
   */
  successRate: number | null
  latency: { p50Ms: number | null; p95Ms: number | null }
  series: SeriesPoint[]
  reasons: { destination: string; reason: string; status: string; count: number; lastAt: string; fix: string }[]
  /** The destination the period's figures are about, or null: every destination's added up. */
  destination: string | null
  /** Each destination's backlog and stored outcomes (from the store's counts, whatever `destination` is). */
  destinations: DestinationRow[]
  /** Events of suppressed users answered and dropped, since the store was created (every destination's: they never entered the queue). */
  suppressedEvents: number
}

export interface DestinationRow {
  name: string
  backlog: { total: number; pending: number; retrying: number; inFlight: number; oldestWaitingSeconds: number | null }
  stored: { delivered: number; dead: number; skipped: number }
}

function zeroTotals(): OutcomeTotals {
  return { ingested: 0, delivered: 0, retrying: 0, dead: 0, skipped: 0 }
}

/**
 * The overview of `period`; with `destination`, its figures (series, totals, latency, reasons,
 * backlog) are that destination's alone. The caller checks that the destination exists.
 */
export async function buildOverview(store: Store, period: Period, now = new Date(), destination?: string): Promise<Overview> {
  const bucketMs = period.bucketSeconds * 1000
  // Align buckets to whole widths so the chart does not shift as time passes.
  const toMs = Math.floor(now.getTime() / bucketMs) * bucketMs + bucketMs
  const fromMs = toMs - Math.ceil((period.seconds * 1000) / bucketMs) * bucketMs
  const from = new Date(fromMs)
  const to = new Date(toMs)

  const [counts, buckets, reasons, p95, p50, suppressedEvents] = await Promise.all([
    store.counts(),
    store.stats({ from, to, bucketSeconds: period.bucketSeconds, destination }),
    store.reasons(destination ? { destination } : undefined),
    store.latencyPercentile(95, new Date(now.getTime() - period.seconds * 1000), destination),
    store.latencyPercentile(50, new Date(now.getTime() - period.seconds * 1000), destination),
    store.suppressedEvents()
  ])

  const points = new Map<number, SeriesPoint>()
  for (let t = fromMs; t < toMs; t += bucketMs) points.set(t, { at: new Date(t).toISOString(), ...zeroTotals() })
  const totals = zeroTotals()
  for (const b of buckets) {
    if (!OUTCOMES.includes(b.outcome)) continue
    const key = Math.floor(b.at.getTime() / bucketMs) * bucketMs
    const point = points.get(key)
    if (!point) continue
    point[b.outcome] += b.count
    totals[b.outcome] += b.count
  }

  const minutes = period.seconds / 60
  const perMinute = zeroTotals()
  for (const o of OUTCOMES) perMinute[o] = round(totals[o] / minutes, 2)
  const attempted = totals.delivered + totals.dead

  return {
    period: period.label,
    from: from.toISOString(),
    to: to.toISOString(),
    bucketSeconds: period.bucketSeconds,
    engine: store.engine,
    backlog: backlogIn(counts, destination, now),
    stored: storedOf(destination ? counts.byDestination[destination] ?? EMPTY : counts),
    totals,
    perMinute,
    successRate: attempted ? round(totals.delivered / attempted, 4) : null,
    latency: { p50Ms: p50 == null ? null : Math.round(p50), p95Ms: p95 == null ? null : Math.round(p95) },
    series: [...points.values()],
    reasons: reasons.map((r) => ({
      destination: r.destination, reason: r.reason, status: r.status, count: r.count, lastAt: r.lastAt.toISOString(), fix: suggestFix(r.reason)
    })),
    destination: destination ?? null,
    destinations: Object.entries(counts.byDestination ?? {}).map(([name, d]) => ({ name, backlog: destinationBacklog(d, now), stored: storedOf(d) })),
    suppressedEvents
  }
}

const EMPTY: DestinationCounts = { pending: 0, retrying: 0, inFlight: 0, delivered: 0, dead: 0, skipped: 0, oldestPendingAt: null }

const ageSeconds = (at: Date | null, now: Date): number | null => (at ? Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000)) : null)

const storedOf = (c: { delivered: number; dead: number; skipped: number }) => ({ delivered: c.delivered, dead: c.dead, skipped: c.skipped })

function destinationBacklog(d: DestinationCounts, now: Date): DestinationRow['backlog'] {
  return { total: d.pending + d.retrying + d.inFlight, pending: d.pending, retrying: d.retrying, inFlight: d.inFlight, oldestWaitingSeconds: ageSeconds(d.oldestPendingAt, now) }
}

/**
 * The backlog: every destination's unfinished rows added up (so the parts add up to the total),
 * or one destination's plus what is admitted and not yet queued.
 */
function backlogIn(counts: Counts, destination: string | undefined, now: Date): Overview['backlog'] {
  if (destination) {
    const own = destinationBacklog(counts.byDestination[destination] ?? EMPTY, now)
    return { ...own, total: own.total + counts.admitted, admitted: counts.admitted }
  }
  return {
    total: backlogOf(counts),
    admitted: counts.admitted,
    pending: counts.pending,
    retrying: counts.retrying,
    inFlight: counts.inFlight,
    oldestWaitingSeconds: ageSeconds(counts.oldestPendingAt, now)
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}
