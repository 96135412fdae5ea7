/**
 * The store's specification as tests, run against every engine (sqlite.test.ts,
 * postgres.test.ts). Time is injected: every store here reads the test's clock.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../index'
import type { LeasedEvent, NewEvent, Store, StoreOptions } from '../types'
import { opArbitrary, runModel } from './model'

export interface StoreHarness {
  /** Engine name as `store.engine` reports it. */
  engine: string
  /** A location (URL) holding a fresh, empty store, for one test. Opening it twice gives two instances on one database. */
  freshUrl(): Promise<string>
}

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0)
const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

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

const ids = (events: LeasedEvent[]) => events.map((e) => e.id)
const lease = (store: Store, limit = 100, leaseMs = 30 * SECOND, owner = 'test') => store.lease({ limit, leaseMs, owner })

export function storeConformance(harness: StoreHarness): void {
  const opened: Store[] = []
  let clock: TestClock

  async function open(url?: string, options: Partial<StoreOptions> = {}): Promise<Store> {
    const store = await openStore(url ?? (await harness.freshUrl()), { now: clock.now, ...options })
    opened.push(store)
    return store
  }
  /** A fresh store and its URL, for tests that open a second instance. */
  async function openFresh(options: Partial<StoreOptions> = {}): Promise<{ store: Store; url: string }> {
    const url = await harness.freshUrl()
    return { store: await open(url, options), url }
  }
  async function enqueueAll(store: Store, events: NewEvent[]): Promise<string[]> {
    return (await store.enqueue(events)).map((r) => r.id)
  }

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close()
  })

  describe(`store conformance (${harness.engine})`, () => {
    // Each `it` gets a new clock before it opens anything.
    const test = (name: string, fn: () => Promise<void>, timeout?: number) =>
      it(
        name,
        async () => {
          clock = new TestClock()
          await fn()
        },
        timeout
      )

    describe('enqueue and get', () => {
      test('reports its engine name', async () => {
        const store = await open()
        expect(store.engine).toBe(harness.engine)
      })

      test('stores events with increasing ids, in order, and get returns them as stored', async () => {
        const store = await open()
        const e1 = newEvent('u1', { receivedAt: new Date(T0 - 5) })
        const e2 = newEvent('u2')
        const results = await store.enqueue([e1, e2])
        expect(results.map((r) => r.duplicate)).toEqual([false, false])
        expect(Number(results[1].id)).toBeGreaterThan(Number(results[0].id))
        const got = await store.get(results[0].id)
        expect(got).toMatchObject({
          id: results[0].id, source: 'web', messageId: e1.messageId, orderingKey: 'u1', type: 'track',
          event: e1.event, receivedAt: e1.receivedAt, status: 'pending', attempts: 0, firstFailedAt: null,
          lastError: null, finishedAt: null, action: null, lastStatus: null, samples: null
        })
        expect(got!.runAt.getTime()).toBe(clock.ms)
      })

      test('get answers null for unknown or malformed ids', async () => {
        const store = await open()
        expect(await store.get('999999')).toBeNull()
        expect(await store.get('not-an-id')).toBeNull()
        expect(await store.get('')).toBeNull()
      })

      test('an invalid receivedAt is recorded as the time of storing', async () => {
        const store = await open()
        const [r] = await store.enqueue([newEvent('u1', { receivedAt: new Date('not a date') })])
        expect((await store.get(r.id))!.receivedAt.getTime()).toBe(clock.ms)
      })

      test('an empty enqueue resolves to no results', async () => {
        const store = await open()
        expect(await store.enqueue([])).toEqual([])
      })

      test('keeps unicode and nested JSON intact', async () => {
        const store = await open()
        const e = newEvent('u1')
        e.event = { ...e.event, properties: { name: 'Zoë 😀 "quoted"\n', nested: { list: [1, null, true, { a: 'b' }] } } }
        const [{ id }] = await store.enqueue([e])
        expect((await store.get(id))!.event).toEqual(e.event)
      })
    })

    describe('hostile text', () => {
      test('NUL bytes and odd unicode in ids, keys, reasons, identities and meta are stored without failing', async () => {
        const store = await open()
        const odd = 'a\u0000b \ud800 é 😀 \' " \\ %_'
        const e = newEvent(`key-${odd}`, { messageId: `msg-${odd}`, source: `src-${odd}`, type: `track${odd}` })
        e.event = { ...e.event, text: odd }
        const [first] = await store.enqueue([e])
        expect((await store.enqueue([{ ...e }]))[0]).toEqual({ id: first.id, duplicate: true })
        const [leased] = await store.lease({ limit: 10, leaseMs: 1000, owner: `owner-${odd}` })
        expect(leased.id).toBe(first.id)
        expect((leased.event as { text?: string }).text).toBe(JSON.parse(JSON.stringify(odd)))
        await store.deadLetter([{ id: leased.id, leaseId: leased.leaseId, reason: `HTTP 400 ${odd}`, samples: { response: { body: odd } } }])
        expect((await store.get(first.id))!.lastError).toContain('HTTP 400')
        expect(await store.list({ reason: 'HTTP 400' })).toHaveLength(1)
        expect(await store.replay({ all: true, reason: 'HTTP 400' })).toBe(1)
        await store.linkIdentities([{ userKey: `u-${odd}`, accountId: `acc-${odd}` }])
        expect((await store.accountsFor([`u-${odd}`])).size).toBe(1)
        await store.setMeta(`k-${odd}`, `v-${odd}`)
        expect(await store.getMeta(`k-${odd}`)).toMatch(/^v-a/)
      })
    })

    describe('dedupe', () => {
      test('a messageId seen again from the same source inside the window is acknowledged with the existing id and not queued again', async () => {
        const store = await open()
        const first = newEvent('u1', { messageId: 'dup-1' })
        const [a] = await store.enqueue([first])
        clock.advance(HOUR)
        const [b] = await store.enqueue([newEvent('u1', { messageId: 'dup-1' })])
        expect(b).toEqual({ id: a.id, duplicate: true })
        expect((await store.counts()).pending).toBe(1)
        expect(ids(await lease(store))).toEqual([a.id])
        expect(await lease(store)).toEqual([])
      })

      test('a duplicate inside one call resolves to the first one', async () => {
        const store = await open()
        const results = await store.enqueue([newEvent('u1', { messageId: 'x' }), newEvent('u1', { messageId: 'x' })])
        expect(results).toEqual([{ id: results[0].id, duplicate: false }, { id: results[0].id, duplicate: true }])
      })

      test('duplicates across concurrent calls resolve to the same id', async () => {
        const store = await open()
        const results = await Promise.all([1, 2, 3].map(() => store.enqueue([newEvent('u1', { messageId: 'same' })])))
        const flat = results.flat()
        expect(new Set(flat.map((r) => r.id)).size).toBe(1)
        expect(flat.filter((r) => !r.duplicate)).toHaveLength(1)
      })

      test('dedupe is per source', async () => {
        const store = await open()
        const [a] = await store.enqueue([newEvent('u1', { messageId: 'm', source: 'web' })])
        const [b] = await store.enqueue([newEvent('u1', { messageId: 'm', source: 'server' })])
        expect(b.duplicate).toBe(false)
        expect(b.id).not.toBe(a.id)
      })

      test('a messageId seen outside the window is a new event', async () => {
        const store = await open(undefined, { dedupeWindowMs: HOUR })
        const [a] = await store.enqueue([newEvent('u1', { messageId: 'm' })])
        clock.advance(HOUR + 1)
        const [b] = await store.enqueue([newEvent('u1', { messageId: 'm' })])
        expect(b.duplicate).toBe(false)
        expect(b.id).not.toBe(a.id)
        // ...and the window restarts from the new sighting.
        clock.advance(HOUR - 1)
        expect((await store.enqueue([newEvent('u1', { messageId: 'm' })]))[0]).toEqual({ id: b.id, duplicate: true })
      })

      test('dedupe still holds inside the window after the event itself was pruned', async () => {
        const store = await open(undefined, { dedupeWindowMs: 24 * HOUR, retentionMs: HOUR })
        const [a] = await store.enqueue([newEvent('u1', { messageId: 'm' })])
        const [leased] = await lease(store)
        await store.complete([{ id: leased.id, leaseId: leased.leaseId }])
        clock.advance(2 * HOUR)
        expect(await store.prune()).toBe(1)
        expect(await store.get(a.id)).toBeNull()
        const [again] = await store.enqueue([newEvent('u1', { messageId: 'm' })])
        expect(again).toEqual({ id: a.id, duplicate: true })
        expect((await store.counts()).pending).toBe(0)
      })

      test('prune forgets messageIds older than the window', async () => {
        const store = await open(undefined, { dedupeWindowMs: HOUR })
        await store.enqueue([newEvent('u1', { messageId: 'm' })])
        clock.advance(HOUR + 1)
        await store.prune()
        expect((await store.enqueue([newEvent('u1', { messageId: 'm' })]))[0].duplicate).toBe(false)
      })
    })

    describe('lease: head of each ordering key', () => {
      test('hands out only the oldest unfinished event of each key, with a lease id and attempts counting this attempt', async () => {
        const store = await open()
        const [a1, a2, b1, a3] = await enqueueAll(store, [newEvent('a'), newEvent('a'), newEvent('b'), newEvent('a')])
        const leased = await lease(store, 10, 5000, 'worker-1')
        expect(ids(leased).sort()).toEqual([a1, b1].sort())
        for (const e of leased) {
          expect(e.attempts).toBe(1)
          expect(e.leasedUntil.getTime()).toBe(clock.ms + 5000)
          expect(typeof e.leaseId).toBe('string')
          expect(e.status).toBe('pending')
        }
        expect(leased[0].leaseId).not.toBe(leased[1].leaseId)
        // Nothing else is deliverable while both keys are leased.
        expect(await lease(store)).toEqual([])
        const leasedA = leased.find((e) => e.id === a1)!
        await store.complete([{ id: a1, leaseId: leasedA.leaseId }])
        expect(ids(await lease(store))).toEqual([a2])
        await store.complete([{ id: a2 }])
        expect(ids(await lease(store))).toEqual([a3])
      })

      test('respects the limit and serves the keys that have waited longest first', async () => {
        const store = await open()
        const [k1] = await enqueueAll(store, [newEvent('k1')])
        clock.advance(10)
        const [k2] = await enqueueAll(store, [newEvent('k2')])
        clock.advance(10)
        const [k3] = await enqueueAll(store, [newEvent('k3')])
        expect(ids(await lease(store, 2))).toEqual([k1, k2])
        expect(ids(await lease(store, 2))).toEqual([k3])
      })

      test('a non-finite limit or lease length is refused; invalid dates on outcomes mean now', async () => {
        const store = await open()
        const [a1] = await enqueueAll(store, [newEvent('a')])
        await expect(store.lease({ limit: Number.NaN, leaseMs: 1000, owner: 'w' })).rejects.toThrow(RangeError)
        await expect(store.lease({ limit: 1, leaseMs: Number.POSITIVE_INFINITY, owner: 'w' })).rejects.toThrow(RangeError)
        const [l] = await lease(store)
        await store.retryLater([{ id: a1, leaseId: l.leaseId, runAt: new Date('nope'), error: 'x' }])
        expect((await store.get(a1))!.runAt.getTime()).toBe(clock.ms)
        const [again] = await lease(store)
        await store.complete([{ id: a1, leaseId: again.leaseId, finishedAt: new Date(Number.NaN) }])
        expect((await store.get(a1))!.finishedAt!.getTime()).toBe(clock.ms)
      })

      test('a limit of 0 leases nothing', async () => {
        const store = await open()
        await store.enqueue([newEvent('a')])
        expect(await lease(store, 0)).toEqual([])
        expect((await store.counts()).inFlight).toBe(0)
      })

      test('skips keys the caller excludes', async () => {
        const store = await open()
        const [, b] = await enqueueAll(store, [newEvent('a'), newEvent('b')])
        expect(ids(await store.lease({ limit: 10, leaseMs: 1000, owner: 'w', excludeKeys: ['a'] }))).toEqual([b])
      })

      test('a retry holds back only its own key until its runAt', async () => {
        const store = await open()
        const [a1, a2, b1, b2] = await enqueueAll(store, [newEvent('a'), newEvent('a'), newEvent('b'), newEvent('b')])
        const first = await lease(store)
        const la1 = first.find((e) => e.id === a1)!
        const lb1 = first.find((e) => e.id === b1)!
        await store.retryLater([{ id: a1, leaseId: la1.leaseId, runAt: clock.date(10 * SECOND), error: 'HTTP 503', status: 503, action: 'track' }])
        await store.complete([{ id: b1, leaseId: lb1.leaseId }])
        // Key a waits for its retry; key b goes on.
        expect(ids(await lease(store))).toEqual([b2])
        expect(await lease(store)).toEqual([])
        const waiting = await store.get(a1)
        expect(waiting).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 503', lastStatus: 503, action: 'track' })
        expect(waiting!.firstFailedAt!.getTime()).toBe(clock.ms)
        expect(waiting!.runAt.getTime()).toBe(clock.ms + 10 * SECOND)
        clock.advance(10 * SECOND - 1)
        expect(await lease(store)).toEqual([])
        clock.advance(1)
        const again = await lease(store)
        expect(ids(again)).toEqual([a1])
        expect(again[0].attempts).toBe(2)
        // A second failure keeps the first failure time.
        const failedAt = waiting!.firstFailedAt!.getTime()
        await store.retryLater([{ id: a1, leaseId: again[0].leaseId, runAt: clock.date(SECOND), error: 'timeout' }])
        expect((await store.get(a1))!.firstFailedAt!.getTime()).toBe(failedAt)
        clock.advance(SECOND)
        const third = await lease(store)
        await store.complete([{ id: a1, leaseId: third[0].leaseId }])
        expect(ids(await lease(store))).toEqual([a2])
      })

      test('a dead letter or a skip finishes the event and lets its key go on', async () => {
        const store = await open()
        const [a1, a2, a3] = await enqueueAll(store, [newEvent('a'), newEvent('a'), newEvent('a')])
        const [l1] = await lease(store)
        await store.deadLetter([{ id: a1, leaseId: l1.leaseId, reason: 'HTTP 400: bad email', status: 400, action: 'identify', samples: { request: { url: 'x' }, response: { status: 400 } } }])
        const dead = await store.get(a1)
        expect(dead).toMatchObject({ status: 'dead', lastError: 'HTTP 400: bad email', lastStatus: 400, action: 'identify', samples: { request: { url: 'x' }, response: { status: 400 } } })
        expect(dead!.finishedAt!.getTime()).toBe(clock.ms)
        const [l2] = await lease(store)
        expect(l2.id).toBe(a2)
        await store.skip([{ id: a2, leaseId: l2.leaseId, reason: 'integrations.CustomerSuccessBox is false' }])
        expect(await store.get(a2)).toMatchObject({ status: 'skipped', lastError: 'integrations.CustomerSuccessBox is false' })
        expect(ids(await lease(store))).toEqual([a3])
      })

      test('complete records the outcome', async () => {
        const store = await open()
        const [a] = await enqueueAll(store, [newEvent('a')])
        const [l] = await lease(store)
        await store.complete([{ id: a, leaseId: l.leaseId, action: 'identify', status: 200, samples: { response: { status: 200 } }, finishedAt: clock.date(1234) }])
        expect(await store.get(a)).toMatchObject({ status: 'delivered', action: 'identify', lastStatus: 200, samples: { response: { status: 200 } }, finishedAt: clock.date(1234) })
      })

      test('the first outcome wins: later outcomes for a finished event change nothing', async () => {
        const store = await open()
        const [a1, a2] = await enqueueAll(store, [newEvent('a'), newEvent('a')])
        const [l] = await lease(store)
        await store.complete([{ id: a1, leaseId: l.leaseId }])
        const [l2] = await lease(store)
        expect(l2.id).toBe(a2)
        await store.deadLetter([{ id: a1, reason: 'late' }])
        await store.retryLater([{ id: a1, runAt: clock.date(), error: 'late' }])
        await store.complete([{ id: a1 }])
        expect(await store.get(a1)).toMatchObject({ status: 'delivered', lastError: null })
        // a2's lease was not disturbed.
        expect(await lease(store)).toEqual([])
        expect((await store.counts()).inFlight).toBe(1)
      })

      test('outcomes for unknown or malformed ids are ignored', async () => {
        const store = await open()
        await store.complete([{ id: '424242' }, { id: 'nope' }])
        await store.deadLetter([{ id: '-1', reason: 'x' }])
        expect((await store.counts()).delivered).toBe(0)
      })

      test('an expired lease makes the event leasable again, and the old holder can no longer settle it', async () => {
        const store = await open()
        const [a1, a2] = await enqueueAll(store, [newEvent('a'), newEvent('a')])
        const [old] = await lease(store, 10, 1000, 'instance-1')
        clock.advance(999)
        expect(await lease(store)).toEqual([])
        expect((await store.counts()).inFlight).toBe(1)
        clock.advance(1)
        expect((await store.counts()).inFlight).toBe(0)
        const [current] = await lease(store, 10, 1000, 'instance-2')
        expect(current.id).toBe(a1)
        expect(current.attempts).toBe(2)
        expect(current.leaseId).not.toBe(old.leaseId)
        // The first holder reports late: ignored, the key stays with the current holder.
        await store.complete([{ id: a1, leaseId: old.leaseId }])
        await store.retryLater([{ id: a1, leaseId: old.leaseId, runAt: clock.date(HOUR), error: 'late' }])
        expect(await store.get(a1)).toMatchObject({ status: 'pending', lastError: null })
        expect(await lease(store)).toEqual([])
        await store.complete([{ id: a1, leaseId: current.leaseId }])
        expect(ids(await lease(store))).toEqual([a2])
      })

      test('an expired lease not yet taken again can still be settled by its holder', async () => {
        const store = await open()
        const [a1, a2] = await enqueueAll(store, [newEvent('a'), newEvent('a')])
        const [l] = await lease(store, 10, 1000)
        clock.advance(5000)
        await store.complete([{ id: a1, leaseId: l.leaseId }])
        expect((await store.get(a1))!.status).toBe('delivered')
        expect(ids(await lease(store))).toEqual([a2])
      })

      test('extendLease keeps a lease alive; expired leases run out', async () => {
        const store = await open()
        const [a1] = await enqueueAll(store, [newEvent('a')])
        await lease(store, 10, 1000)
        clock.advance(900)
        await store.extendLease([a1], 1000)
        clock.advance(900)
        expect(await lease(store)).toEqual([])
        clock.advance(100)
        expect(ids(await lease(store))).toEqual([a1])
      })

      test('extendLease with 0 ms gives a lease back at once', async () => {
        const store = await open()
        const [a1] = await enqueueAll(store, [newEvent('a')])
        const [first] = await lease(store, 10, HOUR)
        await store.extendLease([a1], 0)
        expect((await store.counts()).inFlight).toBe(0)
        const [again] = await lease(store, 10, HOUR)
        expect(again.id).toBe(a1)
        expect(again.leaseId).not.toBe(first.leaseId)
      })

      test('extendLease ignores events that are not leased', async () => {
        const store = await open()
        const [a1, a2] = await enqueueAll(store, [newEvent('a'), newEvent('a')])
        await store.extendLease([a2, 'junk'], 60_000)
        expect(ids(await lease(store))).toEqual([a1])
      })

      test('lease, complete and re-lease survive closing and reopening the store', async () => {
        const { store, url } = await openFresh()
        const [a1, a2] = await enqueueAll(store, [newEvent('a'), newEvent('a')])
        const [l] = await lease(store, 10, 1000)
        await store.close()
        const reopened = await open(url)
        expect(await lease(reopened)).toEqual([])
        await reopened.complete([{ id: a1, leaseId: l.leaseId }])
        expect(ids(await lease(reopened))).toEqual([a2])
      })
    })

    describe('replay', () => {
      async function deadLetters(store: Store, keys: string[], reason: (i: number) => string): Promise<string[]> {
        const made = await enqueueAll(store, keys.map((k) => newEvent(k)))
        for (let i = 0; i < made.length; i++) await store.deadLetter([{ id: made[i], reason: reason(i) }])
        return made
      }

      test('replays by id: attempts reset, pending again, back at its original position in its key', async () => {
        const store = await open()
        const [a1, a2] = await enqueueAll(store, [newEvent('a'), newEvent('a')])
        let [l] = await lease(store)
        await store.deadLetter([{ id: a1, leaseId: l.leaseId, reason: 'HTTP 400' }])
        const [a3] = await enqueueAll(store, [newEvent('a')])
        clock.advance(SECOND)
        expect(await store.replay({ ids: [a1] })).toBe(1)
        expect(await store.get(a1)).toMatchObject({ status: 'pending', attempts: 0, finishedAt: null, firstFailedAt: null })
        // a1 comes back before a2 and a3, which were queued after it.
        for (const expected of [a1, a2, a3]) {
          ;[l] = await lease(store)
          expect(l.id).toBe(expected)
          await store.complete([{ id: l.id, leaseId: l.leaseId }])
        }
        expect(await lease(store)).toEqual([])
      })

      test('replay all returns every dead letter in id order; only dead letters are touched', async () => {
        const store = await open()
        const dead = await deadLetters(store, ['a', 'a', 'b'], (i) => `reason ${i}`)
        const [pending] = await enqueueAll(store, [newEvent('c')])
        expect(await store.replay({ ids: [pending, 'bogus'] })).toBe(0)
        expect(await store.replay({ all: true })).toBe(3)
        expect(await store.replay({ all: true })).toBe(0)
        const counts = await store.counts()
        expect(counts.dead).toBe(0)
        expect(counts.pending).toBe(4)
        const first = await lease(store)
        expect(ids(first).sort()).toEqual([dead[0], dead[2], pending].sort())
        await store.complete(first.map((e) => ({ id: e.id, leaseId: e.leaseId })))
        expect(ids(await lease(store))).toEqual([dead[1]])
      })

      test('replay narrowed by reason', async () => {
        const store = await open()
        const dead = await deadLetters(store, ['a', 'b', 'c'], (i) => (i === 1 ? 'HTTP 401 unauthorized' : 'HTTP 400 bad email'))
        expect(await store.replay({ all: true, reason: '401' })).toBe(1)
        expect((await store.get(dead[1]))!.status).toBe('pending')
        expect((await store.get(dead[0]))!.status).toBe('dead')
        expect(await store.replay({ ids: [dead[0]], reason: '401' })).toBe(0)
        expect(await store.replay({ ids: [dead[0]], reason: 'bad email' })).toBe(1)
      })

      test('replay with neither ids nor all does nothing', async () => {
        const store = await open()
        await deadLetters(store, ['a'], () => 'x')
        expect(await store.replay({})).toBe(0)
        expect(await store.replay({ ids: [] })).toBe(0)
      })

      test('a replayed event waits for a lease in progress on its key', async () => {
        const store = await open()
        const [a1, a2] = await enqueueAll(store, [newEvent('a'), newEvent('a')])
        await store.deadLetter([{ id: a1, reason: 'x' }])
        const [l2] = await lease(store)
        expect(l2.id).toBe(a2)
        await store.replay({ ids: [a1] })
        expect(await lease(store)).toEqual([])
        await store.complete([{ id: a2, leaseId: l2.leaseId }])
        expect(ids(await lease(store))).toEqual([a1])
      })
    })

    describe('counts, list, stats, reasons, latency', () => {
      test('counts each state and the oldest unfinished event', async () => {
        const store = await open()
        expect(await store.counts()).toEqual({ pending: 0, retrying: 0, inFlight: 0, delivered: 0, dead: 0, skipped: 0, oldestPendingAt: null })
        const made = await enqueueAll(store, ['a', 'b', 'c', 'd', 'e', 'f'].map((k, i) => newEvent(k, { receivedAt: new Date(T0 + i) })))
        const leased = await lease(store, 5)
        const byId = new Map(leased.map((e) => [e.id, e]))
        const settle = (i: number) => ({ id: made[i], leaseId: byId.get(made[i])!.leaseId })
        await store.complete([settle(0)])
        await store.deadLetter([{ ...settle(1), reason: 'bad' }])
        await store.skip([{ ...settle(2), reason: 'filtered' }])
        await store.retryLater([{ ...settle(3), runAt: clock.date(HOUR), error: 'HTTP 500' }])
        expect(await store.counts()).toEqual({
          pending: 1, retrying: 1, inFlight: 1, delivered: 1, dead: 1, skipped: 1, oldestPendingAt: new Date(T0 + 3)
        })
      })

      test('list: newest first, by status, reason, type, with paging', async () => {
        const store = await open()
        const made = await enqueueAll(store, [
          newEvent('a', { type: 'identify' }), newEvent('b'), newEvent('c'), newEvent('d'), newEvent('e')
        ])
        await store.deadLetter([{ id: made[0], reason: 'HTTP 400: email invalid' }, { id: made[1], reason: 'HTTP 401' }])
        await store.retryLater([{ id: made[2], runAt: clock.date(HOUR), error: 'HTTP 503' }])
        await store.lease({ limit: 10, leaseMs: 1000, owner: 'w', excludeKeys: ['c'] })
        await store.retryLater([{ id: made[3], runAt: clock.date(HOUR), error: 'timeout' }])
        expect((await store.list({})).map((e) => e.id)).toEqual([...made].reverse())
        expect((await store.list({ status: 'dead' })).map((e) => e.id)).toEqual([made[1], made[0]])
        expect((await store.list({ status: 'dead', reason: 'email' })).map((e) => e.id)).toEqual([made[0]])
        expect((await store.list({ status: 'retrying' })).map((e) => e.id)).toEqual([made[3], made[2]])
        expect((await store.list({ status: 'pending' })).map((e) => e.id)).toEqual([made[4], made[3], made[2]])
        expect((await store.list({ type: 'identify' })).map((e) => e.id)).toEqual([made[0]])
        const page1 = await store.list({ limit: 2 })
        expect(page1.map((e) => e.id)).toEqual([made[4], made[3]])
        const page2 = await store.list({ limit: 2, beforeId: page1[1].id })
        expect(page2.map((e) => e.id)).toEqual([made[2], made[1]])
        expect(await store.list({ beforeId: 'junk' })).toEqual([])
      })

      test('stats: outcomes per bucket, ingested counted at enqueue and duplicates not counted', async () => {
        const store = await open()
        const minute0 = Math.floor(clock.ms / MINUTE) * MINUTE
        await store.enqueue([newEvent('a', { messageId: 's1' }), newEvent('b'), newEvent('c'), newEvent('d', { messageId: 's1' })])
        let leased = await lease(store, 100, HOUR)
        const leaseOf = (id: string) => leased.find((e) => e.id === id)!.leaseId
        await store.complete([{ id: leased[0].id, leaseId: leaseOf(leased[0].id) }])
        await store.retryLater([{ id: leased[1].id, leaseId: leaseOf(leased[1].id), runAt: clock.date(MINUTE), error: 'x' }])
        clock.advance(MINUTE)
        const again = await lease(store, 100, HOUR)
        expect(again).toHaveLength(1)
        leased = [...leased, ...again]
        const retried = leased[leased.length - 1]
        await store.deadLetter([{ id: retried.id, leaseId: retried.leaseId, reason: 'y' }])
        await store.skip([{ id: leased[2].id, leaseId: leaseOf(leased[2].id), reason: 'z' }])
        const buckets = await store.stats({ from: new Date(minute0), to: new Date(minute0 + 5 * MINUTE), bucketSeconds: 60 })
        const at = (ms: number) => new Date(ms)
        expect(buckets).toEqual([
          { at: at(minute0), outcome: 'delivered', count: 1 },
          { at: at(minute0), outcome: 'ingested', count: 3 },
          { at: at(minute0), outcome: 'retrying', count: 1 },
          { at: at(minute0 + MINUTE), outcome: 'dead', count: 1 },
          { at: at(minute0 + MINUTE), outcome: 'skipped', count: 1 }
        ])
        const wide = await store.stats({ from: new Date(minute0), to: new Date(minute0 + 5 * MINUTE), bucketSeconds: 3600 })
        const hour0 = Math.floor(minute0 / HOUR) * HOUR
        expect(wide).toEqual([
          { at: at(hour0), outcome: 'dead', count: 1 },
          { at: at(hour0), outcome: 'delivered', count: 1 },
          { at: at(hour0), outcome: 'ingested', count: 3 },
          { at: at(hour0), outcome: 'retrying', count: 1 },
          { at: at(hour0), outcome: 'skipped', count: 1 }
        ])
        expect(await store.stats({ from: new Date(minute0 + MINUTE), to: new Date(minute0 + 2 * MINUTE), bucketSeconds: 60 })).toHaveLength(2)
      })

      test('reasons groups dead letters and retrying events by reason', async () => {
        const store = await open()
        const made = await enqueueAll(store, ['a', 'b', 'c', 'd', 'e'].map((k) => newEvent(k)))
        await store.deadLetter([{ id: made[0], reason: 'HTTP 400' }, { id: made[1], reason: 'HTTP 400' }])
        clock.advance(SECOND)
        await store.deadLetter([{ id: made[2], reason: 'HTTP 422' }])
        await store.retryLater([{ id: made[3], runAt: clock.date(HOUR), error: 'HTTP 503' }])
        expect(await store.reasons()).toEqual([
          { reason: 'HTTP 400', status: 'dead', count: 2, lastAt: new Date(T0) },
          { reason: 'HTTP 422', status: 'dead', count: 1, lastAt: clock.date() },
          { reason: 'HTTP 503', status: 'retrying', count: 1, lastAt: clock.date() }
        ])
      })

      test('latencyPercentile: nearest rank over events delivered since a time; null when none', async () => {
        const store = await open()
        expect(await store.latencyPercentile(0.5, new Date(0))).toBeNull()
        const made = await enqueueAll(store, [1, 2, 3, 4].map((i) => newEvent(`k${i}`, { receivedAt: new Date(T0) })))
        await store.complete(made.map((id, i) => ({ id, finishedAt: new Date(T0 + (i + 1) * 100) })))
        expect(await store.latencyPercentile(0.5, new Date(T0))).toBe(200)
        expect(await store.latencyPercentile(50, new Date(T0))).toBe(200)
        expect(await store.latencyPercentile(0.99, new Date(T0))).toBe(400)
        expect(await store.latencyPercentile(0, new Date(T0))).toBe(100)
        expect(await store.latencyPercentile(0.5, new Date(T0 + 300))).toBe(300)
        expect(await store.latencyPercentile(0.5, new Date(T0 + 1000))).toBeNull()
      })
    })

    describe('identity map and meta', () => {
      test('links users to accounts, last write wins, unknown users are absent', async () => {
        const store = await open()
        await store.linkIdentities([{ userKey: 'u1', accountId: 'acc-1' }, { userKey: 'u2', accountId: 'acc-2' }, { userKey: 'u1', accountId: 'acc-3' }])
        await store.linkIdentities([{ userKey: 'u2', accountId: 'acc-9' }])
        const found = await store.accountsFor(['u1', 'u2', 'nobody', 'u1'])
        expect([...found.entries()].sort()).toEqual([['u1', 'acc-3'], ['u2', 'acc-9']])
        expect((await store.accountsFor([])).size).toBe(0)
      })

      test('meta: missing is null, set overwrites', async () => {
        const store = await open()
        expect(await store.getMeta('writeKey')).toBeNull()
        await store.setMeta('writeKey', 'one')
        await store.setMeta('writeKey', 'two')
        expect(await store.getMeta('writeKey')).toBe('two')
      })
    })

    describe('prune', () => {
      test('deletes delivered and skipped events past retention; keeps dead letters and unfinished events', async () => {
        const store = await open(undefined, { retentionMs: HOUR })
        const made = await enqueueAll(store, ['a', 'b', 'c', 'd', 'e'].map((k) => newEvent(k)))
        await store.complete([{ id: made[0] }])
        await store.skip([{ id: made[1], reason: 'x' }])
        await store.deadLetter([{ id: made[2], reason: 'y' }])
        await store.retryLater([{ id: made[3], runAt: clock.date(2 * HOUR), error: 'z' }])
        clock.advance(HOUR - 1)
        expect(await store.prune()).toBe(0)
        clock.advance(2)
        expect(await store.prune()).toBe(2)
        expect(await store.get(made[0])).toBeNull()
        expect(await store.get(made[1])).toBeNull()
        expect((await store.get(made[2]))!.status).toBe('dead')
        const counts = await store.counts()
        expect(counts).toMatchObject({ delivered: 0, skipped: 0, dead: 1, pending: 2, retrying: 0 })
        expect(ids(await lease(store)).sort()).toEqual([made[4]])
      })

      test('prune works through more rows than one chunk', async () => {
        const store = await open(undefined, { retentionMs: HOUR, dedupeWindowMs: HOUR })
        const events = Array.from({ length: 11_000 }, (_, i) => newEvent(`bulk-${i % 50}`, { messageId: `bulk-${i}` }))
        const made = await enqueueAll(store, events)
        await store.complete(made.map((id) => ({ id })))
        clock.advance(HOUR + 1)
        expect(await store.prune()).toBe(11_000)
        expect((await store.counts()).delivered).toBe(0)
        const again = await store.enqueue(events)
        expect(again.filter((r) => r.duplicate)).toHaveLength(0)
      }, 120_000)

      test('prune takes an explicit time', async () => {
        const store = await open(undefined, { retentionMs: HOUR })
        const [a] = await enqueueAll(store, [newEvent('a')])
        await store.complete([{ id: a }])
        expect(await store.prune(new Date(clock.ms + 2 * HOUR))).toBe(1)
      })
    })

    describe('group commit', () => {
      test('concurrent enqueues share transactions and each resolves after commit with its own results', async () => {
        const store = await open()
        const before = store.enqueueTransactions ?? 0
        const calls = Array.from({ length: 50 }, (_, i) => [newEvent(`k${i % 7}`), newEvent(`k${i % 5}`)])
        const results = await Promise.all(calls.map((events) => store.enqueue(events)))
        const used = (store.enqueueTransactions ?? 0) - before
        expect(used).toBeGreaterThan(0)
        expect(used).toBeLessThan(calls.length)
        for (let i = 0; i < calls.length; i++) {
          for (let j = 0; j < 2; j++) {
            const got = await store.get(results[i][j].id)
            expect(got!.messageId).toBe(calls[i][j].messageId)
          }
        }
        // Ids follow call order.
        const flat = results.flat().map((r) => Number(r.id))
        expect(flat).toEqual([...flat].sort((x, y) => x - y))
      })

      test('one call that cannot be stored fails alone; the calls sharing its transaction are stored', async () => {
        const store = await open()
        const bad = newEvent('a')
        bad.event = { ...bad.event, big: BigInt(1) } as unknown as NewEvent['event']
        const good = [newEvent('b'), newEvent('c')]
        const outcomes = await Promise.allSettled([store.enqueue([good[0]]), store.enqueue([bad]), store.enqueue([good[1]])])
        expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
        expect((await store.counts()).pending).toBe(2)
      })

      test('close waits for enqueues in progress', async () => {
        const { store, url } = await openFresh()
        const pending = store.enqueue([newEvent('a', { messageId: 'late' })])
        await store.close()
        const [result] = await pending
        const reopened = await open(url)
        expect((await reopened.get(result.id))!.messageId).toBe('late')
      })
    })

    describe('against a reference model', () => {
      test('random sequences of enqueue, lease, outcomes (with and without lease ids), time, extend and replay follow the rules', async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(opArbitrary, { minLength: 5, maxLength: 40 }), async (ops) => {
            clock = new TestClock()
            const store = await open()
            try {
              await runModel(store, clock, ops)
            } finally {
              await store.close()
              opened.splice(opened.indexOf(store), 1)
            }
          }),
          { numRuns: 25 }
        )
      }, 120_000)
    })

    describe('two instances on one database', () => {
      test('share dedupe, the identity map and meta', async () => {
        const { store: one, url } = await openFresh()
        const two = await open(url)
        const [a] = await one.enqueue([newEvent('u', { messageId: 'shared' })])
        expect((await two.enqueue([newEvent('u', { messageId: 'shared' })]))[0]).toEqual({ id: a.id, duplicate: true })
        await one.linkIdentities([{ userKey: 'u', accountId: 'acc' }])
        expect((await two.accountsFor(['u'])).get('u')).toBe('acc')
        await two.setMeta('k', 'v')
        expect(await one.getMeta('k')).toBe('v')
      })

      test('an instance that dies holding leases: another takes its events after the lease expires', async () => {
        const { store: one, url } = await openFresh()
        const two = await open(url)
        const made = await enqueueAll(one, [newEvent('a'), newEvent('a'), newEvent('b')])
        const taken = await lease(one, 10, 10 * SECOND, 'one')
        expect(ids(taken).sort()).toEqual([made[0], made[2]].sort())
        await one.close() // dies without settling
        expect(await lease(two, 10, 10 * SECOND, 'two')).toEqual([])
        clock.advance(10 * SECOND)
        const retaken = await lease(two, 10, 10 * SECOND, 'two')
        expect(ids(retaken).sort()).toEqual([made[0], made[2]].sort())
        await two.complete(retaken.map((e) => ({ id: e.id, leaseId: e.leaseId })))
        expect(ids(await lease(two))).toEqual([made[1]])
      })

      test('producers and workers on both instances, with leases expiring under slow workers: an event is leased only after its predecessor in the key finished', async () => {
        const { store: one, url } = await openFresh()
        const two = await open(url)
        const stores = [one, two]
        const keys = 6
        const perKey = 15
        const sent = new Map<string, string[]>() // key → ids in the order the producer got them acknowledged
        const predecessor = new Map<string, string>()
        let producing = keys
        const producers = Array.from({ length: keys }, async (_, k) => {
          const key = `p-${k}`
          sent.set(key, [])
          for (let i = 0; i < perKey; i++) {
            // Each producer waits for its acknowledgement before sending the next event of its key.
            const [r] = await stores[(i + k) % 2].enqueue([newEvent(key)])
            const list = sent.get(key)!
            if (list.length > 0) predecessor.set(r.id, list[list.length - 1])
            list.push(r.id)
            if (i % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
          }
          producing--
        })
        const violations: string[] = []
        const deliveredOnce = new Set<string>()
        let stop = false
        const ticker = (async () => {
          while (!stop) {
            clock.advance(200)
            await new Promise((resolve) => setTimeout(resolve, 2))
          }
        })()
        const workers = [0, 1, 2, 3].map(async (w) => {
          const store = stores[w % 2]
          while (producing > 0 || deliveredOnce.size < keys * perKey) {
            const batch = await store.lease({ limit: 3, leaseMs: 1000, owner: `w${w}` })
            if (batch.length === 0) {
              await new Promise((resolve) => setTimeout(resolve, 1))
              continue
            }
            for (const e of batch) {
              const before = predecessor.get(e.id)
              if (before !== undefined) {
                const status = (await store.get(before))!.status
                if (status !== 'delivered') violations.push(`${e.id} leased while ${before} of ${e.orderingKey} is ${status}`)
              }
            }
            // Sometimes slower than the lease: another worker takes the event and this outcome is ignored.
            await new Promise((resolve) => setTimeout(resolve, Math.random() < 0.1 ? 15 : Math.random() * 2))
            await store.complete(batch.map((e) => ({ id: e.id, leaseId: e.leaseId })))
            for (const e of batch) if ((await store.get(e.id))!.status === 'delivered') deliveredOnce.add(e.id)
          }
        })
        await Promise.all(producers)
        await Promise.all(workers)
        stop = true
        await ticker
        expect(violations).toEqual([])
        expect((await one.counts()).delivered).toBe(keys * perKey)
        expect(await one.counts()).toMatchObject({ pending: 0, retrying: 0, inFlight: 0 })
      }, 120_000)

      test('leasing concurrently never hands out two events of one key, nor one event twice, and keeps per-key order', async () => {
        const { store: one, url } = await openFresh()
        const two = await open(url)
        const keys = 16
        const perKey = 12
        const events: NewEvent[] = []
        for (let i = 0; i < perKey; i++) for (let k = 0; k < keys; k++) events.push(newEvent(`key-${k}`))
        // Enqueue through both instances, alternating calls.
        const halves = [events.filter((_, i) => i % 2 === 0), events.filter((_, i) => i % 2 === 1)]
        for (let i = 0; i < events.length; i += 2) {
          await one.enqueue([events[i]])
          await two.enqueue([events[i + 1]])
        }
        expect(halves[0].length + halves[1].length).toBe(keys * perKey)
        const inFlightByKey = new Map<string, string>()
        const delivered = new Map<string, number[]>()
        const violations: string[] = []
        let rounds = 0
        async function worker(store: Store, name: string): Promise<void> {
          while (rounds++ < 5000) {
            const batch = await store.lease({ limit: 5, leaseMs: HOUR, owner: name })
            if (batch.length === 0) {
              const c = await store.counts()
              if (c.pending + c.retrying + c.inFlight === 0) return
              await new Promise((r) => setTimeout(r, 1))
              continue
            }
            for (const e of batch) {
              const holder = inFlightByKey.get(e.orderingKey)
              if (holder !== undefined) violations.push(`${name} got ${e.id} while ${holder} of ${e.orderingKey} is leased`)
              inFlightByKey.set(e.orderingKey, e.id)
            }
            await new Promise((r) => setTimeout(r, Math.random() * 3))
            for (const e of batch) {
              inFlightByKey.delete(e.orderingKey)
              const list = delivered.get(e.orderingKey) ?? []
              list.push(Number(e.id))
              delivered.set(e.orderingKey, list)
            }
            await store.complete(batch.map((e) => ({ id: e.id, leaseId: e.leaseId })))
          }
        }
        await Promise.all([worker(one, 'one'), worker(two, 'two'), worker(one, 'one-b'), worker(two, 'two-b')])
        expect(violations).toEqual([])
        let total = 0
        for (const [, list] of delivered) {
          expect(list).toEqual([...list].sort((x, y) => x - y))
          expect(new Set(list).size).toBe(list.length)
          total += list.length
        }
        expect(total).toBe(keys * perKey)
        expect((await one.counts()).delivered).toBe(keys * perKey)
      })
    })
  })
}
