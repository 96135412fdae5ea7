/**
 * The destinations beside CustomerSuccessBox (docs/destinations.md): each runs in its own
 * pipeline (pipeline.ts) with its own subscriptions, settings, executor, concurrency limiter and
 * rate, retries, dead letters and skips, leasing only its own ordering keys from the store. One
 * destination's outage, 429s or dead letters therefore hold back nothing but its own keys.
 *
 * These destinations run in the main thread, whatever CSB_RELAY_DELIVERY_THREADS says: the
 * worker threads are built for CSB's definition and its name guard, and a definition loaded from
 * a path or a package folder would have to be loaded again in each worker. See docs/delivery.md.
 */
import type { SegmentEvent, Store } from '../store/types'
import { instrumentDefinition, RelayDestination } from './actions-core'
import { Batcher } from './batcher'
import type { DestinationProfile } from './deliver'
import type { CheckedDestination } from './destination-check'
import { inThreadExecutor, type Executor } from './executor'
import type { DeliveryObserver } from './observer'
import { Pipeline, type PipelineStats } from './pipeline'
import { createRouter } from './routing'
import type { DeliveryConfig, DeliveryLogger, DeliverySettings } from './types'

export interface DestinationRun {
  name: string
  /** The definition's own name (e.g. "Webhook"). */
  definitionName: string
  pipeline: Pipeline
  executor: Executor
  subscriptions: Array<{ name: string; subscribe: string; partnerAction: string; batchSize?: number }>
}

export interface FanoutOptions {
  store: Store
  settings: DeliverySettings
  /** Config `consent`, keyed by destination name: this destination's router reads its own entry. */
  consent?: DeliveryConfig['consent']
  logger: DeliveryLogger
  observer: DeliveryObserver
  instanceId: string
  random?: () => number
}

export interface DestinationStats extends PipelineStats {
  name: string
  definition: string
  subscriptions: DestinationRun['subscriptions']
}

/** Starts one destination's pipeline. */
export function startDestination(checked: CheckedDestination, options: FanoutOptions): DestinationRun {
  const { config, definition } = checked
  const settings: DeliverySettings = { ...options.settings, ...config.delivery }
  const instrumented = instrumentDefinition(definition, { timeoutMs: () => settings.requestTimeoutMs })
  const destination = new RelayDestination(instrumented as never)
  // The integrations object names a destination by its name here or by its definition's name ("Webhook": false).
  const router = createRouter(config.filters, { integrationNames: [config.name, definition.name], consent: options.consent, destinationName: config.name })
  const batcher = checked.batching.size > 0 ? new Batcher(destination, checked.batching) : undefined
  // CSB's explanations of failed runs are CSB's: this destination's errors go out as its definition gave them.
  const executor = inThreadExecutor(destination, checked.subscriptions, undefined, batcher, (error) => error)
  const secrets = checked.secrets
  const profile: DestinationProfile = { name: config.name, identity: false, lateFeatures: false, secretsOf: () => secrets }
  const pipeline = new Pipeline({
    store: options.store,
    settings,
    executor,
    subscriptions: checked.subscriptions,
    route: (event: SegmentEvent) => router.route(event),
    logger: options.logger,
    observer: options.observer,
    instanceId: options.instanceId,
    profile,
    csb: config.settings,
    random: options.random
  })
  pipeline.start()
  options.logger.info(
    { destination: config.name, definition: definition.name, subscriptions: checked.subscriptions.length, batched: checked.batching.size },
    'delivery: destination started'
  )
  return {
    name: config.name,
    definitionName: definition.name,
    pipeline,
    executor,
    subscriptions: checked.subscriptions.map((s) => {
      const batch = checked.batching.get(s.name)
      return { name: s.name, subscribe: s.subscribe, partnerAction: s.partnerAction, ...(batch ? { batchSize: batch.size } : {}) }
    })
  }
}

export function destinationStats(run: DestinationRun): DestinationStats {
  return { name: run.name, definition: run.definitionName, subscriptions: run.subscriptions, ...run.pipeline.stats() }
}

export async function stopDestination(run: DestinationRun): Promise<void> {
  await run.pipeline.stop()
  await run.executor.close()
}
