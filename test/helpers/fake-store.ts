/**
 * A tiny in-memory Store for unit tests of code that only enqueues (or admits), counts and keeps
 * meta. Dedupe on (source, messageId) like the real engines; `admit` queues at once, as the
 * PostgreSQL engine does (opaque batches expanded by ingest's expander); the other verbs throw.
 */
import { QueuedListeners, summariseQueued } from '../../src/store/queued'
import { expand } from '../../src/ingest/opaque'
import { deserialiseEvents, isOpaqueBatch, isSerialisedEvents, type OpaqueBatch, type SerialisedEvents } from '../../src/store/serialised'
import type { Counts, EnqueueResult, NewEvent, Store, StoredEvent } from '../../src/store/types'

export interface FakeStore extends Store {
  events: StoredEvent[]
  meta: Map<string, string>
  /** Calls to enqueue and admit, with their sizes. */
  enqueueCalls: number[]
  /** Backlog reported by counts() (pending); default: the events stored. */
  backlog?: number
  countsCalls: number
  /** When set, enqueue rejects with it. */
  failEnqueue?: Error
  /** When set, enqueue waits for it before committing. */
  gate?: Promise<void>
}

export function fakeStore(): FakeStore {
  const notInFake = (name: string) => () => Promise.reject(new Error(`fake store: ${name} is not implemented`))
  const queued = new QueuedListeners()
  const store: FakeStore = {
    engine: 'fake',
    events: [],
    meta: new Map(),
    enqueueCalls: [],
    countsCalls: 0,
    async enqueue(events: NewEvent[]): Promise<EnqueueResult[]> {
      store.enqueueCalls.push(events.length)
      if (store.gate) await store.gate
      if (store.failEnqueue) throw store.failEnqueue
      return events.map((e) => {
        const existing = store.events.find((s) => s.source === e.source && s.messageId === e.messageId)
        if (existing) return { id: existing.id, duplicate: true }
        const id = String(store.events.length + 1)
        store.events.push({
          ...e, id, destination: 'CustomerSuccessBox', status: 'pending', attempts: 0, runAt: e.receivedAt, firstFailedAt: null, lastError: null,
          finishedAt: null, action: null, lastStatus: null, samples: null
        })
        return { id, duplicate: false }
      })
    },
    keepsOpaqueBatches: false,
    async admit(batch: NewEvent[] | SerialisedEvents | OpaqueBatch): Promise<void> {
      const events = isSerialisedEvents(batch) ? deserialiseEvents(batch) : isOpaqueBatch(batch) ? expand(batch.head, batch.body) : batch
      const results = await store.enqueue(events)
      queued.emit(summariseQueued(events.map((e) => e.type), results))
    },
    onQueued: (listener) => queued.add(listener),
    async counts(): Promise<Counts> {
      store.countsCalls++
      const pending = store.backlog ?? store.events.length
      return { admitted: 0, pending, retrying: 0, inFlight: 0, delivered: 0, dead: 0, skipped: 0, oldestPendingAt: null, byDestination: {} }
    },
    async get(id) { return store.events.find((e) => e.id === id) ?? null },
    async list() { return [...store.events].reverse() },
    async getMeta(key) { return store.meta.get(key) ?? null },
    async setMeta(key, value) { store.meta.set(key, value) },
    async setMetaIfAbsent(key, value) {
      if (!store.meta.has(key)) store.meta.set(key, value)
      return store.meta.get(key)!
    },
    async close() {},
    lease: notInFake('lease'),
    extendLease: notInFake('extendLease'),
    complete: notInFake('complete'),
    skip: notInFake('skip'),
    retryLater: notInFake('retryLater'),
    deadLetter: notInFake('deadLetter'),
    replay: notInFake('replay'),
    expediteRetries: notInFake('expediteRetries'),
    stats: notInFake('stats'),
    reasons: notInFake('reasons'),
    latencyPercentile: notInFake('latencyPercentile'),
    linkIdentities: notInFake('linkIdentities'),
    admitNames: notInFake('admitNames'),
    listNames: notInFake('listNames'),
    accountsFor: notInFake('accountsFor'),
    prune: notInFake('prune'),
    createRegulation: notInFake('createRegulation'),
    getRegulation: notInFake('getRegulation'),
    listRegulations: notInFake('listRegulations'),
    updateRegulation: notInFake('updateRegulation'),
    claimRegulations: notInFake('claimRegulations'),
    renewRegulationClaim: notInFake('renewRegulationClaim'),
    releaseRegulationClaim: notInFake('releaseRegulationClaim'),
    suppress: notInFake('suppress'),
    unsuppress: notInFake('unsuppress'),
    suppressedAmong: notInFake('suppressedAmong'),
    suppressedEvents: notInFake('suppressedEvents'),
    purgeUsers: notInFake('purgeUsers')
  }
  return store
}
