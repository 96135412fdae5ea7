/** Several instances on one database, and random operation sequences against a reference model. */
import fc from 'fast-check'
import { opArbitrary, runModel } from '../model'
import { describe, expect } from 'vitest'
import type { NewEvent, Store } from '../../../../src/store/types'
import { HOUR, SECOND, ids, lease, newEvent, T0, type Suite } from './harness'

export function instanceTests(suite: Suite): void {
  const { clock, open, openFresh, enqueueAll, test, opened } = suite

  describe('against a reference model', () => {
    test('random sequences of enqueue, lease, outcomes (with and without lease ids), time, extend and replay follow the rules', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArbitrary, { minLength: 5, maxLength: 40 }), async (ops) => {
          clock.ms = T0
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

    test('instances offering different values for one meta key at once agree on one of them', async () => {
      const { store: one, url } = await openFresh()
      const two = await open(url)
      for (let round = 0; round < 5; round++) {
        const key = `generated-${round}`
        const [a, b] = await Promise.all([one.setMetaIfAbsent(key, 'from-one'), two.setMetaIfAbsent(key, 'from-two')])
        expect(a).toBe(b)
        expect(['from-one', 'from-two']).toContain(a)
        expect(await two.getMeta(key)).toBe(a)
      }
    })

    test('instances admitting names at once share one limit', async () => {
      const { store: one, url } = await openFresh()
      const two = await open(url)
      const offers = Array.from({ length: 8 }, (_, i) => [`f${i}a`, `f${i}b`])
      const answers = await Promise.all(offers.map((names, i) => (i % 2 === 0 ? one : two).admitNames('feature', names, 7)))
      const admitted = answers.flatMap((a, i) => offers[i].filter((n) => !a.refused.includes(n)))
      expect(admitted).toHaveLength(7)
      expect((await one.listNames('feature')).sort()).toEqual(admitted.sort())
      // What one admitted, the other admits too, even when full.
      expect(await two.admitNames('feature', [admitted[0]], 7)).toEqual({ refused: [], count: 7 })
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
}
