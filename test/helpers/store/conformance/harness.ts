/**
 * What every part of the conformance suite shares: the harness an engine provides, the test
 * clock, event factories, and a Suite that opens stores on the test's clock and closes them.
 */
import { afterEach, it } from 'vitest'
import { openStore } from '../../../../src/store/index'
import type { LeasedEvent, NewEvent, Store, StoreOptions } from '../../../../src/store/types'

export interface StoreHarness {
  /** Engine name as `store.engine` reports it. */
  engine: string
  /** A location (URL) holding a fresh, empty store, for one test. Opening it twice gives two instances on one database. */
  freshUrl(): Promise<string>
}

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0)
export const SECOND = 1000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE

export class TestClock {
  constructor(public ms = T0) {}
  readonly now = (): number => this.ms
  advance(ms: number): void {
    this.ms += ms
  }
  date(offsetMs = 0): Date {
    return new Date(this.ms + offsetMs)
  }
}

let serial = 0
export function newEvent(orderingKey: string, overrides: Partial<NewEvent> = {}): NewEvent {
  const messageId = overrides.messageId ?? `m-${++serial}`
  return {
    source: 'web',
    messageId,
    orderingKey,
    type: 'track',
    event: { type: 'track', messageId, userId: orderingKey, event: 'Clicked', properties: { n: serial } },
    receivedAt: new Date(T0),
    ...overrides
  }
}

export const ids = (events: LeasedEvent[]) => events.map((e) => e.id)
export const lease = (store: Store, limit = 100, leaseMs = 30 * SECOND, owner = 'test') => store.lease({ limit, leaseMs, owner })

export interface Suite {
  engine: string
  /** One clock for the suite, set back to T0 before each test. */
  clock: TestClock
  opened: Store[]
  /** A store on the test clock: at `url`, or in a fresh location. Closed after the test. */
  open(url?: string, options?: Partial<StoreOptions>): Promise<Store>
  /** A fresh store and its URL, for tests that open a second instance. */
  openFresh(options?: Partial<StoreOptions>): Promise<{ store: Store; url: string }>
  enqueueAll(store: Store, events: NewEvent[]): Promise<string[]>
  /** `it`, with the clock reset first. */
  test(name: string, fn: () => Promise<void>, timeout?: number): void
}

export function createSuite(harness: StoreHarness): Suite {
  const opened: Store[] = []
  const clock = new TestClock()
  const open = async (url?: string, options: Partial<StoreOptions> = {}): Promise<Store> => {
    const store = await openStore(url ?? (await harness.freshUrl()), { now: clock.now, ...options })
    opened.push(store)
    return store
  }
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close()
  })
  return {
    engine: harness.engine,
    clock,
    opened,
    open,
    async openFresh(options = {}) {
      const url = await harness.freshUrl()
      return { store: await open(url, options), url }
    },
    async enqueueAll(store, events) {
      return (await store.enqueue(events)).map((r) => r.id)
    },
    test(name, fn, timeout) {
      it(
        name,
        async () => {
          clock.ms = T0
          await fn()
        },
        timeout
      )
    }
  }
}
