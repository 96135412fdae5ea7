/**
 * Operating the relay: metrics, health, the admin API and the dashboard, as fastify plugins,
 * plus the logger and metric observers the composition root (cli/relay.ts) wires in.
 */
import type { FastifyPluginAsync } from 'fastify'
import type { Registry } from 'prom-client'
import { adminPlugin, type AdminOptions } from './admin'
import { dashboardPlugin } from './dashboard'
import { metricsPlugin } from './metrics'

export { createMetrics, metricsPlugin, METRIC_PREFIX, type RelayMetrics, type MetricsOptions } from './metrics'
export { createLogger, lazyChildLogger, type LoggerOptions } from './logger'
export { adminPlugin, parseReplayFilter, type AdminOptions, type CsbCheck, type EventTester } from './admin'
export { hashAdminToken, isAdminTokenHash, isLoopbackAddress } from './admin-auth'
export { dashboardPlugin } from './dashboard'
export { healthPlugin, CSB_NOT_CONFIGURED, type HealthOptions, type Readiness } from './health'
export { CSB_SETTINGS_META, CsbSettingsError, loadStoredCsbSettings, parseCsbSettings, storeCsbSettings, type CsbSource, type CsbState } from './csb-settings'
export { suggestFix } from './fixes'
export { buildOverview, type Overview } from './overview'
export { RegulationRunner, SUPPRESSION_SKIP_REASON, type DestinationDeleter, type RegulationRunnerOptions } from './regulations'
export { MAX_SUBJECT_IDS, REGULATION_TYPES, ORIGIN_HEADER, parseRegulationRequest, regulationView, type RegulationView } from './admin-regulations'

export interface OpsOptions extends AdminOptions {
  registry: Registry
}

/** `GET /metrics`, `GET /` (dashboard) and the admin API under `/api/`, in one registration. */
export const opsPlugin: FastifyPluginAsync<OpsOptions> = async (app, options) => {
  await app.register(metricsPlugin, { registry: options.registry })
  await app.register(dashboardPlugin)
  await app.register(adminPlugin, { ...options, prefix: '/api' })
}

export { createOps, type Ops, type OpsConfig, type CreateOpsOptions, type DeliveryControls } from './wiring'
