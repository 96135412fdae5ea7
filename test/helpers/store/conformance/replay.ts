/** Replay of dead letters. */
import { describe, expect } from 'vitest'
import type { Store } from '../../../../src/store/types'
import { SECOND, ids, lease, newEvent, type Suite } from './harness'

export function replayTests(suite: Suite): void {
  const { clock, open, enqueueAll, test } = suite

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
}
