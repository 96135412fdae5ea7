/**
 * The dashboard's and `csb-relay status`'s summary of a period: outcome totals and rates,
 * a time series for the chart, backlog, p95 latency and errors grouped by reason with fixes.
 */
import type { Outcome, Store } from '../store/types'
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
  /** Share of finished events (delivered + dead + skipped) that were delivered, 0..1, or null. */
  successRate: number | null
  latency: { p50Ms: number | null; p95Ms: number | null }
  series: SeriesPoint[]
  reasons: { reason: string; status: string; count: number; lastAt: string; fix: string }[]
}

function zeroTotals(): OutcomeTotals {
  return { ingested: 0, delivered: 0, retrying: 0, dead: 0, skipped: 0 }
}

export async function buildOverview(store: Store, period: Period, now = new Date()): Promise<Overview> {
  const bucketMs = period.bucketSeconds * 1000
  // Align buckets to whole widths so the chart does not shift as time passes.
  const toMs = Math.floor(now.getTime() / bucketMs) * bucketMs + bucketMs
  const fromMs = toMs - Math.ceil((period.seconds * 1000) / bucketMs) * bucketMs
  const from = new Date(fromMs)
  const to = new Date(toMs)

  const [counts, buckets, reasons, p95, p50] = await Promise.all([
    store.counts(),
    store.stats({ from, to, bucketSeconds: period.bucketSeconds }),
    store.reasons(),
    store.latencyPercentile(95, new Date(now.getTime() - period.seconds * 1000)),
    store.latencyPercentile(50, new Date(now.getTime() - period.seconds * 1000))
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
  const finished = totals.delivered + totals.dead + totals.skipped

  return {
    period: period.label,
    from: from.toISOString(),
    to: to.toISOString(),
    bucketSeconds: period.bucketSeconds,
    engine: store.engine,
    backlog: {
      total: backlogOf(counts),
      admitted: counts.admitted,
      pending: counts.pending,
      retrying: counts.retrying,
      inFlight: counts.inFlight,
      oldestWaitingSeconds: counts.oldestPendingAt ? Math.max(0, Math.round((now.getTime() - counts.oldestPendingAt.getTime()) / 1000)) : null
    },
    stored: { delivered: counts.delivered, dead: counts.dead, skipped: counts.skipped },
    totals,
    perMinute,
    successRate: finished ? round(totals.delivered / finished, 4) : null,
    latency: { p50Ms: p50 == null ? null : Math.round(p50), p95Ms: p95 == null ? null : Math.round(p95) },
    series: [...points.values()],
    reasons: reasons.map((r) => ({ reason: r.reason, status: r.status, count: r.count, lastAt: r.lastAt.toISOString(), fix: suggestFix(r.reason) }))
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}
