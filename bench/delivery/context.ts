/**
 * What the delivery scenarios share: the relay's modules (loaded from the chosen dist, as
 * `csb-relay` runs them, not the TypeScript sources through tsx, whose transform adds work of its
 * own and runs the store's worker thread through tsx too), the sandbox process with its measured
 * round trip, and the settings of the run.
 */
import type * as DeliveryModule from '../../src/delivery'
import type { DeliveryConfig } from '../../src/delivery'
import type * as RoutingModule from '../../src/delivery/routing'
import type * as StoreModule from '../../src/store'
import type { Store } from '../../src/store'
import type { Dist } from '../lib/dist'
import type { SandboxProcess } from '../lib/sandbox'

export interface RelayModules {
  startDelivery: typeof DeliveryModule.startDelivery
  deliveryDefaults: typeof DeliveryModule.deliveryDefaults
  openStore: typeof StoreModule.openStore
  createRouter: typeof RoutingModule.createRouter
}

/** The functions the scenarios call, from `dist`; names any that dist lacks. */
export function loadRelay(dist: Dist): RelayModules {
  const delivery = dist.load<typeof DeliveryModule>('delivery')
  const store = dist.load<typeof StoreModule>('store')
  const routing = dist.load<typeof RoutingModule>('delivery/routing')
  const relay = { startDelivery: delivery.startDelivery, deliveryDefaults: delivery.deliveryDefaults, openStore: store.openStore, createRouter: routing.createRouter }
  const missing = Object.entries(relay).filter(([, value]) => value === undefined).map(([name]) => name)
  if (missing.length > 0) throw new Error(`bench/delivery: ${dist.dir} does not export ${missing.join(', ')}`)
  return relay
}

export interface DeliveryBenchContext {
  relay: RelayModules
  sandbox: SandboxProcess
  /** Mean sequential round trip to the sandbox, measured before the scenarios (ms). */
  roundTripMs: number
  /** Requests in flight in the throughput scenarios (fixed, not adaptive). */
  concurrency: number
  /** Worker threads running the destination (the relay's CSB_RELAY_DELIVERY_THREADS). */
  threads: number
  /** Where throughput scenarios write CPU profiles of the main thread ('' for none). */
  cpuProfileDir: string
  /** A new SQLite file store for each call. */
  openStore(): Promise<Store>
}

export const silentLogger = { info() {}, warn() {}, error() {}, debug() {} }

/** The relay's delivery config against the sandbox, with the delivery defaults of the loaded dist. */
export function deliveryConfig(ctx: DeliveryBenchContext, delivery: Partial<DeliveryConfig['delivery']>, extra: Partial<DeliveryConfig> = {}): DeliveryConfig {
  return {
    csb: { apiKey: ctx.sandbox.apiKey, baseUrl: ctx.sandbox.url },
    delivery: { ...ctx.relay.deliveryDefaults, ...delivery },
    ...extra
  }
}

/** Delivered events/s the concurrency allows at the measured round trip: the scenarios' baseline. */
export function bound(ctx: DeliveryBenchContext): { label: string; perSecond: number } {
  return { label: `bound ${ctx.concurrency}/${ctx.roundTripMs.toFixed(1)}ms`, perSecond: ctx.concurrency / (ctx.roundTripMs / 1000) }
}
