/** Fan-out: one delivery row per destination, order and outages per destination, reads by destination. */
import { describe, expect } from 'vitest'
import type { LeasedEvent, Store } from '../../../../src/store/types'
import { HOUR, MINUTE, SECOND, T0, newEvent, type Suite } from './harness'

const CSB = 'CustomerSuccessBox'
const HOOKS = 'hooks'
const BOTH = { destinations: [CSB, HOOKS] }

const leaseAt = (store: Store, destination: string | undefined, limit = 100, leaseMs = 30 * SECOND) =>
  store.lease({ limit, leaseMs, owner: 'test', destination })
const messages = (events: LeasedEvent[]) => events.map((e) => e.messageId)
const settled = (events: LeasedEvent[]) => events.map((e) => ({ id: e.id, leaseId: e.leaseId }))

/** Leases and completes one destination's events until none is left; the messageIds per key, in delivery order. */
async function drain(store: Store, destination: string): Promise<Record<string, string[]>> {
  const order: Record<string, string[]> = {}
  for (;;) {
    const leased = await leaseAt(store, destination, 7)
    if (leased.length === 0) return order
    for (const e of leased) {
      expect(e.destination).toBe(destination)
      ;(order[e.orderingKey] ??= []).push(e.messageId)
    }
    await store.complete(settled(leased))
  }
}

export function fanOutTests(suite: Suite): void {
  const { clock, open, openFresh, test } = suite

  describe('fan-out to several destinations', () => {
    test('each destination gets every event once, in order per key, each row with its own id', async () => {
      const store = await open(undefined, BOTH)
      const events = Array.from({ length: 30 }, (_, i) => newEvent(`k${i % 4}`))
      const results = await store.enqueue(events)
      const rows = await store.list({ limit: 1000 })
      expect(rows).toHaveLength(60)
      expect(new Set(rows.map((e) => e.id)).size).toBe(60)
      // The result names the first destination's row.
      for (const [i, r] of results.entries()) {
        expect(await store.get(r.id)).toMatchObject({ destination: CSB, messageId: events[i].messageId })
      }
      const expected: Record<string, string[]> = {}
      for (const e of events) (expected[e.orderingKey] ??= []).push(e.messageId)
      expect(await drain(store, CSB)).toEqual(expected)
      expect(await drain(store, HOOKS)).toEqual(expected)
      const counts = await store.counts()
      expect(counts).toMatchObject({ pending: 0, delivered: 60 })
      expect(counts.byDestination[CSB]).toMatchObject({ pending: 0, delivered: 30 })
      expect(counts.byDestination[HOOKS]).toMatchObject({ pending: 0, delivered: 30 })
    })

    test('a duplicate fans out to nobody', async () => {
      const store = await open(undefined, BOTH)
      const [first] = await store.enqueue([newEvent('u', { messageId: 'once' })])
      const again = await store.enqueue([newEvent('u', { messageId: 'once' }), newEvent('u', { messageId: 'once' })])
      expect(again).toEqual([{ id: first.id, duplicate: true }, { id: first.id, duplicate: true }])
      await store.admit([newEvent('u', { messageId: 'once' })])
      expect((await store.list({})).map((e) => [e.messageId, e.destination])).toEqual([['once', HOOKS], ['once', CSB]])
      expect((await store.counts()).pending).toBe(2)
    })

    test('admitted events fan out when they move into the queue, large admits included', async () => {
      const store = await open(undefined, BOTH)
      const small = [newEvent('a'), newEvent('b')]
      const large = Array.from({ length: 500 }, (_, i) => newEvent(`k${i % 5}`))
      await store.admit(small)
      await store.admit(large)
      for (const destination of [CSB, HOOKS]) {
        const rows = (await store.list({ destination, limit: 1000 })).reverse()
        expect(rows.map((e) => e.messageId)).toEqual([...small, ...large].map((e) => e.messageId))
      }
    })

    test('a retry at one destination holds back only that key there; the other destination goes on', async () => {
      const store = await open(undefined, BOTH)
      const [a1, a2] = [newEvent('a'), newEvent('a')]
      await store.enqueue([a1, a2])
      const [csbA1] = await leaseAt(store, CSB)
      await store.retryLater([{ id: csbA1.id, leaseId: csbA1.leaseId, runAt: clock.date(HOUR), error: 'HTTP 503' }])
      expect(await leaseAt(store, CSB)).toEqual([])
      // hooks delivers the whole key meanwhile.
      expect(await drain(store, HOOKS)).toEqual({ a: [a1.messageId, a2.messageId] })
      clock.advance(HOUR)
      expect(await drain(store, CSB)).toEqual({ a: [a1.messageId, a2.messageId] })
    })

    test('a dead letter at one destination does not block the other, and replays there alone', async () => {
      const store = await open(undefined, BOTH)
      const [a1, a2] = [newEvent('a'), newEvent('a')]
      await store.enqueue([a1, a2])
      const [hooksA1] = await leaseAt(store, HOOKS)
      await store.deadLetter([{ id: hooksA1.id, leaseId: hooksA1.leaseId, reason: 'HTTP 400: bad url' }])
      const [csbA1] = await leaseAt(store, CSB)
      await store.retryLater([{ id: csbA1.id, leaseId: csbA1.leaseId, runAt: clock.date(MINUTE), error: 'HTTP 503' }])
      expect(messages(await leaseAt(store, HOOKS))).toEqual([a2.messageId])
      expect(await store.list({ status: 'dead' })).toMatchObject([{ destination: HOOKS, messageId: a1.messageId }])
      expect(await store.list({ status: 'dead', destination: CSB })).toEqual([])
      expect(await store.replay({ all: true, destination: CSB })).toBe(0)
      expect(await store.replay({ ids: [hooksA1.id], destination: CSB })).toBe(0)
      expect(await store.replay({ all: true, destination: HOOKS, reason: 'bad url' })).toBe(1)
      expect(await store.get(hooksA1.id)).toMatchObject({ status: 'pending', destination: HOOKS, attempts: 0 })
      expect(await store.get(csbA1.id)).toMatchObject({ status: 'pending', destination: CSB, lastError: 'HTTP 503' })
    })

    test('lease by destination takes only its keys; without one, any destination, oldest first', async () => {
      const store = await open(undefined, BOTH)
      await store.enqueue([newEvent('a')])
      clock.advance(10)
      await store.enqueue([newEvent('b')])
      const any = await leaseAt(store, undefined, 3)
      // a at both destinations was ready first; then b at CustomerSuccessBox (the lower id).
      expect(any.map((e) => [e.orderingKey, e.destination])).toEqual([['a', CSB], ['a', HOOKS], ['b', CSB]])
      expect(await leaseAt(store, CSB)).toEqual([])
      expect((await leaseAt(store, HOOKS)).map((e) => [e.orderingKey, e.destination])).toEqual([['b', HOOKS]])
      expect(await leaseAt(store, 'elsewhere')).toEqual([])
    })

    test('excluded keys are skipped at the destination leased, or at every destination', async () => {
      const store = await open(undefined, BOTH)
      await store.enqueue([newEvent('a'), newEvent('b')])
      const one = await store.lease({ limit: 10, leaseMs: SECOND, owner: 'w', destination: HOOKS, excludeKeys: ['a'] })
      expect(one.map((e) => [e.orderingKey, e.destination])).toEqual([['b', HOOKS]])
      const any = await store.lease({ limit: 10, leaseMs: SECOND, owner: 'w', excludeKeys: ['b'] })
      expect(any.map((e) => [e.orderingKey, e.destination]).sort()).toEqual([['a', CSB], ['a', HOOKS]])
    })

    test('outcomes and lease ids apply per row; extendLease keeps one destination\'s lease only', async () => {
      const store = await open(undefined, BOTH)
      await store.enqueue([newEvent('a')])
      const [csb] = await leaseAt(store, CSB, 10, SECOND)
      const [hooks] = await leaseAt(store, HOOKS, 10, SECOND)
      // A lease id of the other destination's row does not settle this one.
      await store.complete([{ id: csb.id, leaseId: hooks.leaseId }])
      expect((await store.get(csb.id))!.status).toBe('pending')
      clock.advance(900)
      await store.extendLease([csb.id], SECOND)
      clock.advance(100)
      expect((await leaseAt(store, HOOKS)).map((e) => e.id)).toEqual([hooks.id])
      expect(await leaseAt(store, CSB)).toEqual([])
      await store.complete([{ id: csb.id, leaseId: csb.leaseId }])
      expect((await store.counts()).byDestination[CSB]).toMatchObject({ delivered: 1, inFlight: 0 })
    })

    test('counts, list, stats, reasons and latency by destination; without one, over all of them', async () => {
      const store = await open(undefined, BOTH)
      const minute0 = Math.floor(clock.ms / MINUTE) * MINUTE
      await store.enqueue([newEvent('a', { type: 'identify', receivedAt: new Date(T0) }), newEvent('b', { receivedAt: new Date(T0) })])
      const csb = await leaseAt(store, CSB)
      const hooks = await leaseAt(store, HOOKS)
      clock.advance(100)
      await store.complete(settled(csb))
      await store.deadLetter([{ ...settled(hooks)[0], reason: 'HTTP 400' }])
      clock.advance(100)
      await store.retryLater([{ ...settled(hooks)[1], runAt: clock.date(HOUR), error: 'HTTP 503' }])

      const counts = await store.counts()
      expect(counts.byDestination).toEqual({
        [CSB]: { pending: 0, retrying: 0, inFlight: 0, delivered: 2, dead: 0, skipped: 0, oldestPendingAt: null },
        [HOOKS]: { pending: 0, retrying: 1, inFlight: 0, delivered: 0, dead: 1, skipped: 0, oldestPendingAt: new Date(T0) }
      })
      expect(counts).toMatchObject({ pending: 0, retrying: 1, inFlight: 0, delivered: 2, dead: 1, skipped: 0, oldestPendingAt: new Date(T0) })

      expect((await store.list({ destination: HOOKS })).map((e) => [e.orderingKey, e.status])).toEqual([['b', 'pending'], ['a', 'dead']])
      expect((await store.list({ destination: CSB, type: 'identify' })).map((e) => e.orderingKey)).toEqual(['a'])
      expect(await store.list({ destination: CSB, status: 'retrying' })).toEqual([])
      expect(await store.list({ destination: HOOKS, status: 'retrying' })).toMatchObject([{ orderingKey: 'b' }])

      const range = { from: new Date(minute0), to: new Date(minute0 + MINUTE), bucketSeconds: 60 }
      const at = new Date(minute0)
      expect(await store.stats({ ...range, destination: CSB })).toEqual([
        { at, outcome: 'delivered', count: 2 },
        { at, outcome: 'ingested', count: 2 }
      ])
      expect(await store.stats({ ...range, destination: HOOKS })).toEqual([
        { at, outcome: 'dead', count: 1 },
        { at, outcome: 'ingested', count: 2 },
        { at, outcome: 'retrying', count: 1 }
      ])
      expect(await store.stats(range)).toEqual([
        { at, outcome: 'dead', count: 1 },
        { at, outcome: 'delivered', count: 2 },
        { at, outcome: 'ingested', count: 4 },
        { at, outcome: 'retrying', count: 1 }
      ])

      expect(await store.reasons({ destination: CSB })).toEqual([])
      const hooksReasons = [
        { destination: HOOKS, reason: 'HTTP 400', status: 'dead', count: 1, lastAt: new Date(T0 + 100) },
        { destination: HOOKS, reason: 'HTTP 503', status: 'retrying', count: 1, lastAt: new Date(T0 + 200) }
      ]
      expect(await store.reasons({ destination: HOOKS })).toEqual(hooksReasons)
      expect(await store.reasons()).toEqual(hooksReasons)

      expect(await store.latencyPercentile(50, new Date(T0), CSB)).toBe(100)
      expect(await store.latencyPercentile(50, new Date(T0), HOOKS)).toBeNull()
      expect(await store.latencyPercentile(50, new Date(T0))).toBe(100)
    })

    test('a destination added later gets only the events queued after; one removed keeps its rows, listable and replayable', async () => {
      const { store: before, url } = await openFresh({ destinations: [CSB] })
      const old = newEvent('a')
      await before.enqueue([old])
      await before.close()

      const added = await open(url, { destinations: [CSB, HOOKS] })
      expect(await leaseAt(added, HOOKS)).toEqual([])
      const later = newEvent('a')
      await added.enqueue([later])
      expect(messages(await leaseAt(added, HOOKS))).toEqual([later.messageId])
      const [csbOld] = await leaseAt(added, CSB)
      expect(csbOld.messageId).toBe(old.messageId)
      await added.deadLetter([{ id: csbOld.id, leaseId: csbOld.leaseId, reason: 'HTTP 401' }])
      await added.close()

      // CustomerSuccessBox removed: its rows stay, counted, listable and replayable.
      const removed = await open(url, { destinations: [HOOKS] })
      const next = newEvent('a')
      await removed.enqueue([next])
      expect((await removed.list({ destination: CSB })).map((e) => e.messageId)).toEqual([later.messageId, old.messageId])
      expect((await removed.counts()).byDestination[CSB]).toMatchObject({ pending: 1, dead: 1 })
      expect(await removed.replay({ all: true, destination: CSB })).toBe(1)
      expect(messages(await leaseAt(removed, CSB))).toEqual([old.messageId])
      expect((await removed.list({ destination: HOOKS })).map((e) => e.messageId)).toEqual([next.messageId, later.messageId])
    })

    test('prune takes finished rows out of their own destination\'s counts', async () => {
      const store = await open(undefined, { ...BOTH, retentionMs: HOUR })
      await store.enqueue([newEvent('a'), newEvent('b')])
      await store.complete(settled(await leaseAt(store, CSB)))
      await store.skip(settled(await leaseAt(store, HOOKS, 1)).map((s) => ({ ...s, reason: 'filtered' })))
      clock.advance(HOUR + 1)
      expect(await store.prune()).toBe(3)
      const counts = await store.counts()
      expect(counts.byDestination[CSB]).toMatchObject({ delivered: 0, pending: 0 })
      expect(counts.byDestination[HOOKS]).toMatchObject({ skipped: 0, pending: 1 })
    })

    test('destinations must be a non-empty list of distinct names', async () => {
      await expect(open(undefined, { destinations: [] })).rejects.toThrow(/non-empty array/)
      await expect(open(undefined, { destinations: [CSB, CSB] })).rejects.toThrow(/twice/)
      await expect(open(undefined, { destinations: [''] })).rejects.toThrow(/not a destination name/)
    })
  })

  describe('two instances on one database, two destinations', () => {
    test('instances leasing the same destination never hold one key at once, and every event reaches each destination once, in order', async () => {
      const { store: one, url } = await openFresh(BOTH)
      const two = await open(url, BOTH)
      const keys = 8
      const perKey = 8
      for (let i = 0; i < perKey; i++) {
        await one.enqueue(Array.from({ length: keys / 2 }, (_, k) => newEvent(`key-${k}`)))
        await two.enqueue(Array.from({ length: keys / 2 }, (_, k) => newEvent(`key-${k + keys / 2}`)))
      }
      const held = new Map<string, string>() // destination + key → id of the event leased there
      const delivered = new Map<string, number[]>() // destination + key → ids in delivery order
      const violations: string[] = []
      async function worker(store: Store, name: string, destination: string): Promise<void> {
        for (let round = 0; round < 2000; round++) {
          const batch = await store.lease({ limit: 3, leaseMs: HOUR, owner: name, destination })
          if (batch.length === 0) {
            const left = (await store.counts()).byDestination[destination]
            if (left.pending + left.retrying === 0) return
            await new Promise((r) => setTimeout(r, 1))
            continue
          }
          for (const e of batch) {
            const slot = `${e.destination}/${e.orderingKey}`
            if (e.destination !== destination) violations.push(`${name} leasing ${destination} got ${e.id} of ${e.destination}`)
            if (held.has(slot)) violations.push(`${name} got ${e.id} while ${held.get(slot)} of ${slot} is leased`)
            held.set(slot, e.id)
          }
          await new Promise((r) => setTimeout(r, Math.random() * 3))
          for (const e of batch) {
            const slot = `${e.destination}/${e.orderingKey}`
            held.delete(slot)
            delivered.set(slot, [...(delivered.get(slot) ?? []), Number(e.id)])
          }
          await store.complete(settled(batch))
        }
      }
      await Promise.all([
        worker(one, 'one-csb', CSB), worker(two, 'two-csb', CSB), worker(one, 'one-hooks', HOOKS), worker(two, 'two-hooks', HOOKS)
      ])
      expect(violations).toEqual([])
      expect(delivered.size).toBe(2 * keys)
      for (const [, list] of delivered) {
        expect(list).toHaveLength(perKey)
        expect(list).toEqual([...list].sort((x, y) => x - y))
      }
      const counts = await one.counts()
      expect(counts.byDestination[CSB]).toMatchObject({ delivered: keys * perKey, pending: 0, retrying: 0, inFlight: 0 })
      expect(counts.byDestination[HOOKS]).toMatchObject({ delivered: keys * perKey, pending: 0, retrying: 0, inFlight: 0 })
    }, 120_000)
  })
}
