/**
 * Retention: finished events (with their samples) are kept `retentionMs`, dead letters
 * `deadLetterRetentionMs`, each from when it finished; `prune` removes what is past its time and
 * nothing else.
 */
import { describe, expect } from 'vitest'
import { HOUR, ids, lease, newEvent, type Suite } from './harness'

const DAY = 24 * HOUR
const SAMPLES = { event: { type: 'track' }, request: { url: 'https://x.test' }, response: { status: 200 } }

export function retentionTests(suite: Suite): void {
  const { clock, open, enqueueAll, test } = suite

  describe('retention', () => {
    test('defaults: finished events 7 days, dead letters 30 days', async () => {
      const store = await open()
      const made = await enqueueAll(store, ['a', 'b', 'c'].map((k) => newEvent(k)))
      await store.complete([{ id: made[0], samples: SAMPLES as never }])
      await store.skip([{ id: made[1], reason: 'Filtered by end user consent' }])
      await store.deadLetter([{ id: made[2], reason: 'HTTP 400' }])
      clock.advance(7 * DAY)
      expect(await store.prune()).toBe(0)
      clock.advance(1)
      expect(await store.prune()).toBe(2)
      expect(await store.get(made[0])).toBeNull()
      expect(await store.get(made[1])).toBeNull()
      expect((await store.get(made[2]))!.status).toBe('dead')
      clock.advance(23 * DAY - 1)
      expect(await store.prune()).toBe(0)
      clock.advance(1)
      expect(await store.prune()).toBe(1)
      expect(await store.get(made[2])).toBeNull()
      expect(await store.counts()).toMatchObject({ delivered: 0, skipped: 0, dead: 0, pending: 0 })
    })

    test('removes what is past its time and nothing else', async () => {
      const store = await open(undefined, { retentionMs: 2 * HOUR, deadLetterRetentionMs: 3 * HOUR })
      const old = await enqueueAll(store, ['o1', 'o2', 'o3'].map((k) => newEvent(k)))
      await store.complete([{ id: old[0], samples: SAMPLES as never }])
      await store.skip([{ id: old[1], reason: 'x' }])
      await store.deadLetter([{ id: old[2], reason: 'y' }])
      clock.advance(2 * HOUR)
      const young = await enqueueAll(store, ['y1', 'y2', 'y3', 'y4', 'y5'].map((k) => newEvent(k)))
      await store.complete([{ id: young[0], samples: SAMPLES as never }])
      await store.skip([{ id: young[1], reason: 'x' }])
      await store.deadLetter([{ id: young[2], reason: 'y' }])
      await store.retryLater([{ id: young[3], runAt: clock.date(100 * HOUR), error: 'HTTP 503' }])
      // young[4] stays pending, never leased.
      await store.linkIdentities([{ userKey: 'u-1', accountId: 'acc-1' }])

      clock.advance(1) // old finished 2 h + 1 ms ago, young 1 ms ago
      expect(await store.prune()).toBe(2)
      expect(await store.get(old[0])).toBeNull()
      expect(await store.get(old[1])).toBeNull()
      expect((await store.get(old[2]))!.status).toBe('dead')
      for (const id of young) expect(await store.get(id)).not.toBeNull()
      expect((await store.get(young[0]))!.samples).toEqual(SAMPLES)

      clock.advance(HOUR) // old dead letter 3 h + 1 ms ago, young finished 1 h + 1 ms ago
      expect(await store.prune()).toBe(1)
      expect(await store.get(old[2])).toBeNull()

      clock.advance(1000 * HOUR) // everything finished is past its time; unfinished events stay
      expect(await store.prune()).toBe(3)
      expect(await store.counts()).toMatchObject({ delivered: 0, skipped: 0, dead: 0, pending: 2 })
      expect(ids(await lease(store)).sort()).toEqual([young[3], young[4]].sort())
      expect(await store.accountsFor(['u-1'])).toEqual(new Map([['u-1', 'acc-1']]))
    })

    test('a replayed dead letter is unfinished again: kept until it finishes anew', async () => {
      const store = await open(undefined, { retentionMs: HOUR, deadLetterRetentionMs: HOUR })
      const [a] = await enqueueAll(store, [newEvent('a')])
      await store.deadLetter([{ id: a, reason: 'HTTP 400' }])
      clock.advance(HOUR / 2)
      expect(await store.replay({ ids: [a] })).toBe(1)
      clock.advance(10 * HOUR)
      expect(await store.prune()).toBe(0)
      expect((await store.get(a))!.status).toBe('pending')
    })
  })
}
