/**
 * Everything ops adds to a running relay, built once by the composition root:
 *
 *   const ops = createOps({ store, config, logger, checkCsb })
 *   // ingest: observer ops.ingestObserver;  delivery: observer ops.deliveryObserver
 *   await app.register(opsPlugin, ops.pluginOptions)
 *   ops.attachDelivery(delivery)   // replay and the event tester go through delivery
 */
import { Registry } from 'prom-client'
import type { Logger } from 'pino'
import { SecretSet, redactConfig, secretValuesOf, type CsbSettings, type DeliverySettings } from '../delivery'
import type { DeliveryObserver } from '../delivery/observer'
import type { ReplayFilter, Store } from '../store/types'
import type { CsbCheck, CsbControls } from './admin'
import type { OpsOptions } from './index'
import { createMetrics, type IngestMetricsObserver } from './metrics'

/**
 * The relay's configuration as ops sees it (the CLI's RelayConfig is one): shown, redacted, in
 * the dashboard and `/api/config`, its secrets scrubbed from every answer, and these fields read.
 */
export interface OpsConfig {
  adminToken?: string
  /** The CSB settings of the configuration (absent until CSB is configured). */
  csb?: CsbSettings
  delivery: Pick<DeliverySettings, 'maxDistinctFeatures' | 'maxDistinctModules'>
}

/** The parts of a running delivery that ops uses (src/delivery's `Delivery` has them). */
export interface DeliveryControls {
  replay(filter: ReplayFilter): Promise<number>
  test(event: Record<string, unknown>, options?: { send?: boolean }): Promise<unknown>
  stats?(): { names: Record<string, { known: number; limit: number }> }
}

export interface CreateOpsOptions {
  store: Store
  config: OpsConfig
  /** CSB check failures are logged here. */
  logger?: Logger
  /** Extra secrets to scrub besides the config's (e.g. a generated write key); a SecretSet is shared, and grows with the config's. */
  secrets?: Iterable<string | undefined | null> | SecretSet
  /** Asks CSB whether it accepts the settings (the destination's testAuthentication); rejects with the reason. */
  checkCsb?: (csb: CsbSettings) => Promise<void>
  /** Created here when absent. */
  registry?: Registry
  /** The CSB settings in force now (they may be set at runtime); defaults to the configuration's. */
  csb?: () => CsbSettings | undefined
  /** Runtime CSB settings for the admin API (`/api/csb`). */
  csbControls?: CsbControls
  /** `sha256:<hex>` of the admin token in force, when the relay generated it (only its hash is known). */
  adminTokenHash?: string
  /** Wakes the regulation runner (regulations.ts) when the admin API creates a regulation. */
  wakeRegulations?: () => void
}

export interface Ops {
  registry: Registry
  ingestObserver: IngestMetricsObserver
  deliveryObserver: DeliveryObserver
  pluginOptions: OpsOptions
  attachDelivery(delivery: DeliveryControls): void
}

export function createOps(options: CreateOpsOptions): Ops {
  const { store, config, logger } = options
  const registry = options.registry ?? new Registry()
  let delivery: DeliveryControls | undefined
  const metrics = createMetrics({
    registry, counts: () => store.counts(), names: () => delivery?.stats?.().names, suppressedEvents: () => store.suppressedEvents(),
    inboxErrors: () => store.inboxErrors
  })
  const secrets = options.secrets instanceof SecretSet ? options.secrets : new SecretSet(options.secrets ?? [])
  secrets.add(...secretValuesOf(config))
  const csbNow = options.csb ?? (() => config.csb)

  const checkCsb = async (): Promise<CsbCheck> => {
    const csb = csbNow()
    if (!csb) return { configured: false, ok: false, message: 'CSB is not configured: set CSB_API_KEY and CSB_BASE_URL, or PUT /api/csb' }
    if (!options.checkCsb) return { configured: true, ok: false, message: 'no CSB check available in this relay' }
    try {
      await options.checkCsb(csb)
      return { configured: true, ok: true, message: `CSB at ${csb.baseUrl} answers and accepts the API key` }
    } catch (err) {
      logger?.warn({ baseUrl: csb.baseUrl, reason: (err as Error).message }, 'CSB check failed')
      return { configured: true, ok: false, message: `CSB at ${csb.baseUrl}: ${(err as Error).message}` }
    }
  }

  return {
    registry,
    ingestObserver: metrics.ingestObserver,
    deliveryObserver: metrics.deliveryObserver,
    pluginOptions: {
      registry,
      store,
      config: redactConfig(config),
      adminToken: config.adminToken,
      adminTokenHash: options.adminTokenHash,
      secrets,
      replay: (filter) => (delivery ? delivery.replay(filter) : store.replay(filter)),
      testEvent: async (event, { send }) => {
        if (!delivery) throw new Error('delivery is not running')
        return delivery.test(event, { send })
      },
      checkCsb,
      csb: options.csbControls,
      wakeRegulations: options.wakeRegulations,
      names: async () => {
        const [feature, module] = await Promise.all([store.listNames('feature'), store.listNames('module')])
        return {
          feature: { count: feature.length, limit: config.delivery.maxDistinctFeatures, names: feature },
          module: { count: module.length, limit: config.delivery.maxDistinctModules, names: module }
        }
      }
    },
    attachDelivery(d) {
      delivery = d
    }
  }
}
