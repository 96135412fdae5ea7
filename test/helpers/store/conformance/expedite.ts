/** expediteRetries: a destination answers again, and the retries its outage caused become due. */
import { describe, expect } from 'vitest'
import type { LeasedEvent, Store } from '../../../../src/store/types'
import { MINUTE, SECOND, T0, newEvent, type Suite } from './harness'

const CSB = 'CustomerSuccessBox'
const HOOKS = 'hooks'

const leaseAt = (store: Store, destination?: string, limit = 100) => store.lease({ limit, leaseMs: 30 * SECOND, owner: 'test', destination })
const byKey = (events: LeasedEvent[]) => new Map(events.map((e) => [e.orderingKey, e]))

export function expediteTests(suite: Suite): void {
  const { clock, open, enqueueAll, test } = suite

  describe('expediteRetries', () => {
    test('makes due the retries that failed since the outage began; Retry-After waits, earlier failures, leases, dead letters and deliveries stay as they are', async () => {
      const store = await open()
      const made = await enqueueAll(store, ['early', 'outage', 'asked', 'dead', 'done', 'leased', 'next', 'outage'].map((k) => newEvent(k)))
      let leased = byKey(await leaseAt(store))
      // 'early' failed before the outage began: its wait is not the outage's.
      const early = leased.get('early')!
      await store.retryLater([{ id: early.id, leaseId: early.leaseId, runAt: clock.date(10 * MINUTE), error: 'HTTP 500' }])
      clock.advance(SECOND)
      const outageBegan = clock.date()
      const retry = (e: LeasedEvent, extra: object = {}) => ({ id: e.id, leaseId: e.leaseId, runAt: clock.date(MINUTE), error: 'HTTP 503', status: 503, ...extra })
      await store.retryLater([retry(leased.get('outage')!), retry(leased.get('asked')!, { notBefore: clock.date(30 * SECOND) }), retry(leased.get('leased')!, { runAt: clock.date() })])
      await store.deadLetter([{ id: leased.get('dead')!.id, leaseId: leased.get('dead')!.leaseId, reason: 'HTTP 400' }])
      await store.complete([{ id: leased.get('done')!.id, leaseId: leased.get('done')!.leaseId }])
      const next = leased.get('next')!
      await store.retryLater([retry(next)])
      clock.advance(SECOND)
      // 'leased' is due at once and leased again: still in flight when CSB answers again.
      leased = byKey(await leaseAt(store))
      expect([...leased.keys()]).toEqual(['leased'])
      const before = (await store.get(leased.get('leased')!.id))!.runAt

      clock.advance(SECOND)
      expect(await store.expediteRetries({ destination: CSB, failedSince: outageBegan, now: clock.date() })).toBe(2)
      const due = await leaseAt(store)
      expect(due.map((e) => e.orderingKey).sort()).toEqual(['next', 'outage'])
      // The second 'outage' event is behind its key's head, as ever.
      expect(due.find((e) => e.orderingKey === 'outage')!.id).toBe(made[1])
      expect(due.every((e) => e.runAt.getTime() === clock.ms)).toBe(true)
      expect((await store.get(early.id))!.runAt.getTime()).toBe(T0 + 10 * MINUTE)
      expect((await store.get(leased.get('leased')!.id))!.runAt).toEqual(before)
      expect((await store.get(leased.get('leased')!.id))!.status).toBe('pending')
      // Nothing left to make due: a second call changes nothing.
      expect(await store.expediteRetries({ destination: CSB, failedSince: outageBegan, now: clock.date() })).toBe(0)
    })

    test('an event whose Retry-After has passed is made due; one whose Retry-After is ahead is not', async () => {
      const store = await open()
      const [a, b] = await enqueueAll(store, [newEvent('a'), newEvent('b')])
      const since = clock.date()
      const leased = byKey(await leaseAt(store))
      await store.retryLater([
        { id: a, leaseId: leased.get('a')!.leaseId, runAt: clock.date(MINUTE), notBefore: clock.date(10 * SECOND), error: 'HTTP 503' },
        { id: b, leaseId: leased.get('b')!.leaseId, runAt: clock.date(MINUTE), notBefore: clock.date(40 * SECOND), error: 'HTTP 429' }
      ])
      clock.advance(20 * SECOND)
      expect(await store.expediteRetries({ destination: CSB, failedSince: since })).toBe(1)
      expect((await leaseAt(store)).map((e) => e.id)).toEqual([a])
      expect((await store.get(b))!.runAt.getTime()).toBe(clock.ms - 20 * SECOND + MINUTE)
    })

    test('touches only the destination that answers again', async () => {
      const store = await open(undefined, { destinations: [CSB, HOOKS] })
      await enqueueAll(store, [newEvent('a')])
      const since = clock.date()
      for (const destination of [CSB, HOOKS]) {
        const [e] = await leaseAt(store, destination)
        await store.retryLater([{ id: e.id, leaseId: e.leaseId, runAt: clock.date(MINUTE), error: 'HTTP 503' }])
      }
      clock.advance(SECOND)
      expect(await store.expediteRetries({ destination: HOOKS, failedSince: since })).toBe(1)
      expect(await leaseAt(store, CSB)).toEqual([])
      expect((await leaseAt(store, HOOKS)).map((e) => e.destination)).toEqual([HOOKS])
    })
  })
}
