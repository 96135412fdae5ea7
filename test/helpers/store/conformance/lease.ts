/** Lease: the head of each ordering key, retries, expiry and the outcome rules. */
import { describe, expect } from 'vitest'
import { HOUR, SECOND, ids, lease, newEvent, type Suite } from './harness'
import { userEvent } from './suppression'

export function leaseTests(suite: Suite): void {
  const { clock, open, openFresh, enqueueAll, test } = suite

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
      expect(await store.extendLease([a2, 'junk'], 60_000)).toEqual([])
      expect(ids(await lease(store))).toEqual([a1])
    })

    test('extendLease answers the ids whose lease is still held: not those suppressed, purged or settled', async () => {
      const store = await open()
      const [kept, suppressed, purged, settled, other] = await enqueueAll(store, [
        userEvent('kept'), userEvent('hushed'), userEvent('erased'), userEvent('done'), userEvent('kept', 'k2')
      ])
      const leased = await lease(store, 10, 1000)
      const all = [kept, suppressed, purged, settled, other]
      expect(ids(leased).sort()).toEqual([...all].sort())
      clock.advance(900)
      expect((await store.extendLease(all, 1000)).sort()).toEqual([...all].sort())
      await store.suppress(['hushed'], 'suppressed')
      await store.purgeUsers(['erased'])
      await store.complete([{ id: settled, leaseId: leased.find((e) => e.id === settled)!.leaseId }])
      expect((await store.extendLease([...all, 'junk'], 1000)).sort()).toEqual([kept, other].sort())
      // The held ones were extended: still leased 900 ms later, when the first lease had run out.
      clock.advance(900)
      expect(await lease(store, 10)).toEqual([])
    })

    test('suppress and purge say when the leases of other owners they took away run out, not their own nor lapsed ones', async () => {
      const store = await open()
      const t0 = clock.now()
      const [, , , , lapsed] = await enqueueAll(store, [userEvent('theirs'), userEvent('erased'), userEvent('mine'), userEvent('erased-mine'), userEvent('lapsed')])
      expect(await store.lease({ limit: 10, leaseMs: 7000, owner: 'other', excludeKeys: ['mine', 'erased-mine'] })).toHaveLength(3)
      expect(await store.lease({ limit: 10, leaseMs: 9000, owner: 'runner' })).toHaveLength(2)
      // Another's lease that ran out before the regulation: nothing to wait for.
      await store.extendLease([lapsed], 500)
      clock.advance(600)
      expect(await store.suppress(['mine', 'lapsed'], 'suppressed', 'runner')).toEqual({ added: 2 })
      expect(await store.suppress(['theirs'], 'suppressed', 'runner')).toEqual({ added: 1, leasedElsewhereUntil: t0 + 7000 })
      expect(await store.purgeUsers(['erased-mine'], 'runner')).toEqual({ events: 1, admittedEvents: 0, identityLinks: 0 })
      expect(await store.purgeUsers(['erased'], 'runner')).toEqual({ events: 1, admittedEvents: 0, identityLinks: 0, leasedElsewhereUntil: t0 + 7000 })
      // Without an owner, every live lease counts as another's.
      await enqueueAll(store, [userEvent('anyone')])
      expect(await store.lease({ limit: 10, leaseMs: 3000, owner: 'runner' })).toHaveLength(1)
      expect(await store.purgeUsers(['anyone'])).toMatchObject({ events: 1, leasedElsewhereUntil: t0 + 600 + 3000 })
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
}
