/**
 * Prometheus metrics. One Registry is created at start (by the composition root) and passed
 * here; nothing is registered globally. The observers returned plug into ingest and delivery,
 * which never import ops.
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client'
import type { FastifyPluginAsync } from 'fastify'
import type { DeliveryObserver, OutcomeReport } from '../delivery/observer'
import { CONSENT_SKIP_REASON } from '../delivery'
import { CSB_DESTINATION } from '../delivery/types'
import { slowestBacklog, type Counts } from '../store/types'
import { registerStoreCounters } from './store-counters'

export const METRIC_PREFIX = 'csb_relay_'

/**
 * What ingest reports (structurally ingest's `IngestObserver`; declared here because ops may
 * not import ingest/).
 */
export interface IngestMetricsObserver {
  ingested(type: string, result: 'accepted' | 'duplicate' | 'rejected' | 'throttled', count: number): void
  storeLatency(operation: string, seconds: number): void
  rateLimited(source: string, events: number): void
  invalidTime(field: string, count: number): void
  junkId(path: string, count: number): void
}

/** End-to-end latency buckets (seconds): sub-second when healthy, hours when CSB was down. */
const LATENCY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600]
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

export interface MetricsOptions {
  registry: Registry
  /** Reads the store's counts at scrape time (backlog depth, oldest waiting event). */
  counts: () => Promise<Counts>
  /** Also collect Node process metrics (CPU, memory, event loop). Default true. */
  processMetrics?: boolean
  /** Distinct feature and module names sent to CSB and their limits, once delivery runs (delivery's stats().names). */
  names?: () => Record<string, { known: number; limit: number }> | undefined
  /** Events of suppressed users dropped: the store's count, read at scrape time (every instance sharing the store reports the same total). */
  suppressedEvents?: () => Promise<number>
  /** SQLite: the inbox move's errors so far (the store's `inboxErrors`); undefined on engines without an inbox. */
  inboxErrors?: () => number | undefined
}

export interface RelayMetrics {
  registry: Registry
  ingestObserver: IngestMetricsObserver
  /** Counts delivery outcomes (delivery itself logs one line per failed attempt). */
  deliveryObserver: DeliveryObserver
}

export function createMetrics({ registry, counts, processMetrics = true, names, suppressedEvents, inboxErrors }: MetricsOptions): RelayMetrics {
  const registers = [registry]
  if (processMetrics) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX })

  const ingested = new Counter({
    name: `${METRIC_PREFIX}ingested_events_total`,
    help: 'Events received on the tracking API, by Segment type and result (accepted, duplicate, rejected, throttled).',
    labelNames: ['type', 'result'] as const,
    registers
  })
  const rateLimited = new Counter({
    name: `${METRIC_PREFIX}rate_limited_events_total`,
    help: 'Events refused (429, none stored) because their source was over its sources[].maxEventsPerSecond, by source name.',
    labelNames: ['source'] as const,
    registers
  })
  const invalidTimes = new Counter({
    name: `${METRIC_PREFIX}invalid_timestamps_total`,
    help: 'Stored events whose timestamp, sentAt or receivedAt (field) was malformed: replaced by the time of receipt, the original kept in context.csbRelay.',
    labelNames: ['field'] as const,
    registers
  })
  const junkIds = new Counter({
    name: `${METRIC_PREFIX}junk_ids_total`,
    help: 'Ids such as "undefined", "null" or "[object Object]" removed from stored events as absent, by path (userId, traits.user_id...); the original kept in context.csbRelay.junkIds.',
    labelNames: ['path'] as const,
    registers
  })
  const outcomes = new Counter({
    name: `${METRIC_PREFIX}delivery_outcomes_total`,
    help: 'Delivery attempts by destination, action, HTTP status ("none" without a response) and outcome (delivered, retrying, dead, skipped).',
    labelNames: ['destination', 'action', 'status', 'outcome'] as const,
    registers
  })
  const retries = new Counter({
    name: `${METRIC_PREFIX}delivery_retries_total`,
    help: 'Attempts that failed retryably and were scheduled again, by destination and action.',
    labelNames: ['destination', 'action'] as const,
    registers
  })
  const consentFiltered = new Counter({
    name: `${METRIC_PREFIX}consent_filtered_events_total`,
    help: 'Events held back from a destination because the end user did not consent to its categories (config "consent"), by destination.',
    labelNames: ['destination'] as const,
    registers
  })
  const endToEnd = new Histogram({
    name: `${METRIC_PREFIX}end_to_end_latency_seconds`,
    help: 'Time from receipt by the relay to delivery, by destination.',
    labelNames: ['destination'] as const,
    buckets: LATENCY_BUCKETS,
    registers
  })
  const lateFeatures = new Counter({
    name: `${METRIC_PREFIX}late_feature_events_total`,
    help: 'Feature events delivered on another UTC day than their timestamp (sent as is; CSB does not aggregate them into that day).',
    registers
  })
  const concurrency = new Gauge({
    name: `${METRIC_PREFIX}delivery_concurrency`,
    help: 'Requests currently allowed in flight (the adaptive limit), by destination.',
    labelNames: ['destination'] as const,
    registers
  })
  const storeLatency = new Histogram({
    name: `${METRIC_PREFIX}store_operation_seconds`,
    help: 'Duration of store operations, by operation.',
    labelNames: ['operation'] as const,
    buckets: STORE_BUCKETS,
    registers
  })

  // Backlog gauges read the store once per scrape: a scrape starts every collect() before any
  // of them resolves, so they share the read in flight; the next scrape reads again.
  let pendingRead: Promise<Counts> | null = null
  const readCounts = (): Promise<Counts> => {
    if (!pendingRead) {
      const started = process.hrtime.bigint()
      pendingRead = counts().finally(() => {
        storeLatency.observe({ operation: 'counts' }, Number(process.hrtime.bigint() - started) / 1e9)
        pendingRead = null
      })
    }
    return pendingRead
  }

  new Gauge({
    name: `${METRIC_PREFIX}backlog_events`,
    help: 'Unfinished events: admitted (committed, not yet in the queue), waiting for a first attempt, waiting for a retry, or in flight.',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const c = await readCounts()
      this.set({ state: 'admitted' }, c.admitted)
      this.set({ state: 'pending' }, c.pending)
      this.set({ state: 'retrying' }, c.retrying)
      this.set({ state: 'in_flight' }, c.inFlight)
    }
  })
  new Gauge({
    name: `${METRIC_PREFIX}backlog_depth`,
    help: 'Unfinished events: admitted plus the unfinished rows of the destination furthest behind (what ingest backpressure compares with ingest.maxBacklog).',
    registers,
    async collect() {
      const c = await readCounts()
      this.set(slowestBacklog(c))
    }
  })
  // Per destination: each has its own rows (the totals above add them up).
  new Gauge({
    name: `${METRIC_PREFIX}destination_backlog_events`,
    help: 'Unfinished delivery rows of one destination: waiting for a first attempt, waiting for a retry, or in flight.',
    labelNames: ['destination', 'state'] as const,
    registers,
    async collect() {
      this.reset()
      for (const [destination, d] of Object.entries((await readCounts()).byDestination ?? {})) {
        this.set({ destination, state: 'pending' }, d.pending)
        this.set({ destination, state: 'retrying' }, d.retrying)
        this.set({ destination, state: 'in_flight' }, d.inFlight)
      }
    }
  })
  new Gauge({
    name: `${METRIC_PREFIX}destination_dead_letters`,
    help: 'Dead-lettered rows of one destination (`csb-relay dlq replay --destination NAME`).',
    labelNames: ['destination'] as const,
    registers,
    async collect() {
      this.reset()
      for (const [destination, d] of Object.entries((await readCounts()).byDestination ?? {})) this.set({ destination }, d.dead)
    }
  })
  new Gauge({
    name: `${METRIC_PREFIX}destination_oldest_waiting_event_age_seconds`,
    help: 'Age of the oldest unfinished event of one destination (0 when it has none).',
    labelNames: ['destination'] as const,
    registers,
    async collect() {
      this.reset()
      for (const [destination, d] of Object.entries((await readCounts()).byDestination ?? {})) {
        this.set({ destination }, d.oldestPendingAt ? Math.max(0, (Date.now() - d.oldestPendingAt.getTime()) / 1000) : 0)
      }
    }
  })
  new Gauge({
    name: `${METRIC_PREFIX}oldest_waiting_event_age_seconds`,
    help: 'Age of the oldest unfinished event (0 when the backlog is empty).',
    registers,
    async collect() {
      const c = await readCounts()
      this.set(c.oldestPendingAt ? Math.max(0, (Date.now() - c.oldestPendingAt.getTime()) / 1000) : 0)
    }
  })
  new Gauge({
    name: `${METRIC_PREFIX}dead_letters`,
    help: 'Dead-lettered events currently stored (replay them from the dashboard or `csb-relay dlq replay`).',
    registers,
    async collect() {
      this.set((await readCounts()).dead)
    }
  })

  registerStoreCounters(registers, METRIC_PREFIX, { suppressedEvents, inboxErrors })

  // Distinct feature and module names, and their limits, read from delivery at scrape time.
  const nameGauges = [
    ['distinct_names', 'Distinct feature and module names the relay has sent to CSB (CSB keeps at most 256 of each per instance).', 'known'],
    ['distinct_names_limit', 'The most distinct feature and module names the relay sends (delivery.maxDistinctFeatures / maxDistinctModules; 0 = no limit).', 'limit']
  ] as const
  for (const [name, help, field] of nameGauges) {
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames: ['kind'] as const,
      registers,
      collect() {
        for (const [kind, n] of Object.entries(names?.() ?? {})) this.set({ kind }, n[field])
      }
    })
  }

  const ingestObserver: IngestMetricsObserver = {
    ingested(type, result, count) {
      ingested.inc({ type: typeLabel(type), result }, count)
    },
    storeLatency(operation, seconds) {
      storeLatency.observe({ operation }, seconds)
    },
    rateLimited(source, events) {
      rateLimited.inc({ source }, events)
    },
    invalidTime(field, count) {
      invalidTimes.inc({ field }, count)
    },
    junkId(path, count) {
      junkIds.inc({ path }, count)
    }
  }

  const deliveryObserver: DeliveryObserver = {
    outcome(report: OutcomeReport) {
      const action = report.action ?? 'none'
      const destination = report.destination ?? CSB_DESTINATION
      outcomes.inc({ destination, action, status: report.status == null ? 'none' : String(report.status), outcome: report.outcome })
      if (report.outcome === 'retrying') retries.inc({ destination, action })
      if (report.outcome === 'skipped' && report.reason === CONSENT_SKIP_REASON) consentFiltered.inc({ destination })
      if (report.outcome === 'delivered' && typeof report.endToEndMs === 'number') endToEnd.observe({ destination }, report.endToEndMs / 1000)
      if (report.lateFeatures) lateFeatures.inc(report.lateFeatures)
    },
    concurrency(current, destination) {
      concurrency.set({ destination: destination ?? CSB_DESTINATION }, current)
    },
    storeLatency(operation, seconds) {
      storeLatency.observe({ operation }, seconds)
    }
  }

  return { registry, ingestObserver, deliveryObserver }
}

const KNOWN_TYPES = new Set(['identify', 'track', 'page', 'screen', 'group', 'alias', 'unknown'])

/** Label values must stay few: anything outside Segment's types counts as "other". */
function typeLabel(type: string): string {
  return KNOWN_TYPES.has(type) ? type : 'other'
}

export interface MetricsRouteOptions {
  registry: Registry
}

/** `GET /metrics`: the registry in Prometheus text format. */
export const metricsPlugin: FastifyPluginAsync<MetricsRouteOptions> = async (app, { registry }) => {
  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics()
    reply.header('content-type', registry.contentType)
    return text
  })
}
