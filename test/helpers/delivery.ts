/** Shared by the delivery tests: a store, a sandbox and delivery to it (the rig), and events. */
import { randomUUID } from 'node:crypto'
import { openStore, type NewEvent, type SegmentEvent, type Store } from '../../src/store'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { startDelivery, deliveryDefaults, type Delivery, type DeliveryConfig, type OutcomeReport } from '../../src/delivery'
import { orderingKeyOf } from '../../src/ingest/ordering-key'
import { silentLogger } from './logger'

export const fastDelivery = {
  ...deliveryDefaults,
  backoffBaseMs: 50,
  backoffCapMs: 500,
  pollIntervalMs: 10,
  leaseMs: 5000,
  requestTimeoutMs: 2000
}

/** The delivery section of a config file for the built relay (a process): quick polls, retries and lease expiry. */
export const fastDeliveryConfig = { backoffBaseMs: 50, backoffCapMs: 500, pollIntervalMs: 10, leaseMs: 2000, requestTimeoutMs: 2000 }

export function segmentEvent(e: Record<string, unknown>): SegmentEvent {
  const now = new Date().toISOString()
  return { messageId: randomUUID(), timestamp: now, receivedAt: now, ...e } as unknown as SegmentEvent
}

export async function enqueue(store: Store, events: SegmentEvent[]): Promise<string[]> {
  const rows: NewEvent[] = events.map((event) => ({
    source: 'test',
    messageId: event.messageId,
    orderingKey: orderingKeyOf(event),
    type: event.type,
    event,
    receivedAt: new Date()
  }))
  return (await store.enqueue(rows)).map((r) => r.id)
}

export interface Rig {
  store: Store
  sandbox: Sandbox
  delivery: Delivery
  outcomes: OutcomeReport[]
  concurrency: number[]
  logger: ReturnType<typeof silentLogger>
  close(): Promise<void>
}

/** A store (new, in memory, unless given), a sandbox and delivery to it (in `threads` worker threads, 0 = the main thread). */
export async function startRig(
  overrides: Partial<Omit<DeliveryConfig, 'csb'>> & { csb?: DeliveryConfig['csb'] | null } = {},
  sandboxApiKey?: string,
  threads = 0,
  existingStore?: Store
): Promise<Rig> {
  const store = existingStore ?? (await openStore(':memory:'))
  const sandbox = await startSandbox({ port: 0, ...(sandboxApiKey ? { apiKey: sandboxApiKey } : {}) })
  const outcomes: OutcomeReport[] = []
  const concurrency: number[] = []
  const logger = silentLogger()
  const csb = overrides.csb === null ? undefined : overrides.csb ?? { apiKey: sandbox.apiKey, baseUrl: sandbox.url }
  const config: DeliveryConfig = { delivery: fastDelivery, ...overrides, csb } as DeliveryConfig
  const delivery = startDelivery({
    store,
    config,
    logger,
    observer: { outcome: (r) => outcomes.push(r), concurrency: (n) => concurrency.push(n) },
    threads
  })
  return {
    store,
    sandbox,
    delivery,
    outcomes,
    concurrency,
    logger,
    async close() {
      await delivery.stop()
      await sandbox.close()
      await store.close()
    }
  }
}

/** Bodies of the requests CSB accepted (2xx), oldest first. */
export function accepted(sandbox: Sandbox, path?: string) {
  return sandbox.requests(path ? { path } : undefined).filter((r) => r.status >= 200 && r.status < 300)
}
