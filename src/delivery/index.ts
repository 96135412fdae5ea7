/**
 * Delivery: leases stored events and delivers them to CustomerSuccessBox through the
 * destination (actions-core), in order per ordering key, with retries, rate adaptation,
 * dead letters and replay. See docs/delivery.md.
 *
 *   const delivery = startDelivery({ store, config, logger, observer, instanceId })
 *   delivery.setCsbSettings({ apiKey, baseUrl })   // events wait until CSB is configured
 *   await delivery.replay({ all: true })            // dead letters back through the pipeline
 *   await delivery.stop()
 */
import { randomBytes } from 'node:crypto'
import csbDestination, { baseUrlProblem, INTEGRATION_NAMES } from '../destination'
import type { ReplayFilter, SegmentEvent, Store } from '../store/types'
import { instrumentDefinition, RelayDestination } from './actions-core'
import { createRouter } from './routing'
import type { DeliveryObserver } from './observer'
import { Pipeline, type PipelineStats, type RouteFn } from './pipeline'
import { compileSubscriptions, defaultSubscriptions, SubscriptionError, type ActiveSubscription } from './subscriptions'
import { dryRun, type DryRunResult } from './dry-run'
import { inThreadExecutor, threadPoolExecutor, type Executor } from './executor'
import { checkDestinations, DestinationConfigError, type CheckedDestination } from './destination-check'
import { destinationStats, startDestination, stopDestination, type DestinationStats } from './fanout'
import { NameGuard, type AdmitNames, type NameKind, type NameStats } from './names'
import type { CsbSettings, DeliveryConfig, DeliveryLogger, SubscriptionConfig } from './types'

export type { CsbSettings, DeliveryConfig, DeliverySettings, DestinationConfig, SubscriptionConfig, DeliveryLogger } from './types'
export { CSB_DESTINATION, deliveryDefaults } from './types'
export type { DeliveryObserver, OutcomeReport, DeliveryOutcome } from './observer'
export type { DryRunResult } from './dry-run'
export { SubscriptionError } from './subscriptions'
export { CONSENT_SKIP_REASON } from './routing'
export { checkDestinations, DestinationConfigError, type CheckedDestination }
export type { DestinationStats } from './fanout'
export { INSTALL_HINT } from './definitions'
export { retryDelayMs } from './backoff'
export { destinationDeleters, DELETE_ATTEMPTS, type DestinationDeleter, type DeleterOptions } from './deletions'
export { NameLimitError, type NameStats } from './names'
export { REDACTED, createScrubber, type Scrubber } from '../destination'
export { SecretSet, redactConfig, redactDbUrl, redactSecretFields, scrubValue, secretValuesOf } from './secrets'

export interface StartDeliveryOptions {
  store: Store
  config: DeliveryConfig
  logger: DeliveryLogger
  observer?: DeliveryObserver
  /** Names this instance's leases (diagnosis; several instances share one PostgreSQL store). */
  instanceId?: string
  /** Replaces the CustomerSuccessBox definition (tests). */
  definition?: typeof csbDestination
  /** Injectable randomness for backoff jitter (tests). */
  random?: () => number
  /** Worker threads that run the destination; 0 (the default) runs it in the main thread. */
  threads?: number
  /** The destinations beside CSB, checked at start (`checkDestinations`); each gets its own pipeline. */
  destinations?: CheckedDestination[]
}

export interface DeliveryStats extends PipelineStats {
  subscriptions: Array<{ name: string; subscribe: string; partnerAction: string }>
  /** Distinct feature and module names sent to CSB, beside their limits (names.ts). */
  names: Record<NameKind, NameStats>
  /** The destinations beside CSB, each with its own pipeline's figures. */
  destinations: DestinationStats[]
}

export interface Delivery {
  /** Sets (or clears, with undefined) the CSB settings at runtime; events flow once set. Throws on invalid settings. */
  setCsbSettings(settings: CsbSettings | undefined): void
  /** Makes matching dead letters pending again and wakes the workers; returns how many. */
  replay(filter: ReplayFilter): Promise<number>
  /** New events were stored: lease now rather than at the next poll. */
  wake(): void
  /**
   * Checks the leases of every pipeline's buffered events with the store now and drops those no
   * longer held, unsent: called once a regulation has suppressed or purged users, before it is
   * recorded FINISHED. An attempt already started is not recalled. Rejects when the store fails.
   */
  revalidateLeases(): Promise<void>
  /** Which subscription/action an event matches and the exact CSB request, without sending (or sending, with `send`). */
  test(event: Record<string, unknown>, options?: { send?: boolean }): Promise<DryRunResult>
  stats(): DeliveryStats
  /** Stops leasing, finishes running events and records their outcome. */
  stop(): Promise<void>
}

/** Everything delivery needs that is compiled once from the configuration. */
export interface DeliveryRuntime {
  destination: RelayDestination
  subscriptions: ActiveSubscription[]
  /** The subscriptions as configured (or the presets), for worker threads. */
  configured: SubscriptionConfig[]
  route: RouteFn
}

/**
 * Compiles subscriptions and filters and instruments the destination. Throws
 * SubscriptionError / RoutingConfigError naming the bad entry and its fix.
 */
export function prepareDelivery(config: DeliveryConfig, definition: typeof csbDestination = csbDestination): DeliveryRuntime {
  const configured = config.subscriptions ?? defaultSubscriptions(definition)
  const subscriptions = compileSubscriptions(configured, definition)
  const router = createRouter(config.filters, { integrationNames: INTEGRATION_NAMES, consent: config.consent, destinationName: 'CustomerSuccessBox' })
  const instrumented = instrumentDefinition(definition, { timeoutMs: () => config.delivery.requestTimeoutMs })
  return { destination: new RelayDestination(instrumented), subscriptions, configured, route: (event: SegmentEvent) => router.route(event) }
}

/** Checks CSB settings against the destination's settings schema; throws a message naming the problem. */
export function validateCsbSettings(runtime: DeliveryRuntime, settings: CsbSettings): void {
  const problem = baseUrlProblem(settings.baseUrl)
  if (problem) throw new SubscriptionError(`CSB settings are invalid: ${problem}`)
  if (typeof settings.apiKey !== 'string' || settings.apiKey === '') throw new SubscriptionError('CSB settings are invalid: apiKey is required')
  try {
    runtime.destination.validateSettings(settings as never)
  } catch (err) {
    throw new SubscriptionError(`CSB settings are invalid: ${(err as Error).message}`)
  }
}

export function startDelivery(options: StartDeliveryOptions): Delivery {
  const { store, config, logger } = options
  const observer = options.observer ?? {}
  const runtime = prepareDelivery(config, options.definition)
  if (config.csb) validateCsbSettings(runtime, config.csb)
  const threads = options.definition ? 0 : Math.max(0, Math.floor(options.threads ?? 0))
  const nameLimits = { feature: config.delivery.maxDistinctFeatures, module: config.delivery.maxDistinctModules }
  const admit: AdmitNames = (kind, names, limit) => store.admitNames(kind, names, limit)
  const names = new NameGuard(admit, nameLimits)
  // Names already sent pass without asking the store; until this answers, they are asked once each.
  for (const kind of ['feature', 'module'] as const) {
    Promise.resolve()
      .then(() => store.listNames(kind))
      .then(
        (known) => names.preload(kind, known),
        (err) => logger.warn({ err: String(err), kind }, 'delivery: could not read the names already sent to CSB; each is checked with the store when next sent')
      )
  }
  const instanceId = options.instanceId ?? `relay-${randomBytes(4).toString('hex')}`
  const inThread = inThreadExecutor(runtime.destination, runtime.subscriptions, names)
  const executor: Executor =
    threads > 0
      ? threadPoolExecutor(
          threads,
          { subscriptions: runtime.configured, requestTimeoutMs: config.delivery.requestTimeoutMs, nameLimits },
          (err) => logger.error({ err: String(err) }, 'delivery: a worker thread failed'),
          inThread,
          names.admitFor
        )
      : inThread
  const pipeline = new Pipeline({
    store,
    settings: config.delivery,
    executor,
    subscriptions: runtime.subscriptions,
    route: runtime.route,
    logger,
    observer,
    instanceId,
    csb: config.csb,
    random: options.random
  })
  pipeline.start()
  const others = (options.destinations ?? []).map((checked) =>
    startDestination(checked, { store, settings: config.delivery, consent: config.consent, logger, observer, instanceId, random: options.random })
  )
  if (!config.csb) logger.warn({}, 'delivery: CustomerSuccessBox is not configured; events are stored and wait until it is')

  return {
    setCsbSettings(settings) {
      if (settings) validateCsbSettings(runtime, settings)
      pipeline.setCsbSettings(settings)
      logger.info({ baseUrl: settings?.baseUrl ?? null }, settings ? 'delivery: CSB settings set' : 'delivery: CSB settings cleared')
    },
    async replay(filter) {
      const n = await store.replay(filter)
      pipeline.wake()
      for (const other of others) other.pipeline.wake()
      return n
    },
    wake: () => {
      pipeline.wake()
      for (const other of others) other.pipeline.wake()
    },
    revalidateLeases: async () => {
      await Promise.all([pipeline.revalidateLeases(), ...others.map((other) => other.pipeline.revalidateLeases())])
    },
    test: (event, testOptions = {}) =>
      dryRun(event, { runtime, store, csb: pipeline.csbSettings as CsbSettings | undefined, send: testOptions.send ?? false, guard: names.check }),
    stats: () => ({
      ...pipeline.stats(),
      names: names.stats(),
      subscriptions: runtime.subscriptions.map((s) => ({ name: s.name, subscribe: s.subscribe, partnerAction: s.partnerAction })),
      destinations: others.map(destinationStats)
    }),
    stop: async () => {
      await Promise.all([pipeline.stop().then(() => executor.close()), ...others.map(stopDestination)])
    }
  }
}
