/** Counts, list, stats, reasons, latency, the identity map, meta and prune. */
import { describe, expect } from 'vitest'
import { HOUR, MINUTE, SECOND, T0, ids, lease, newEvent, type Suite } from './harness'

export function readTests(suite: Suite): void {
  const { clock, open, enqueueAll, test } = suite

  describe('counts, list, stats, reasons, latency', () => {
    test('counts each state and the oldest unfinished event', async () => {
      const store = await open()
      const none = { pending: 0, retrying: 0, inFlight: 0, delivered: 0, dead: 0, skipped: 0, oldestPendingAt: null }
      // The default destination is listed even before it has rows.
      expect(await store.counts()).toEqual({ admitted: 0, ...none, byDestination: { CustomerSuccessBox: none } })
      const made = await enqueueAll(store, ['a', 'b', 'c', 'd', 'e', 'f'].map((k, i) => newEvent(k, { receivedAt: new Date(T0 + i) })))
      const leased = await lease(store, 5)
      const byId = new Map(leased.map((e) => [e.id, e]))
      const settle = (i: number) => ({ id: made[i], leaseId: byId.get(made[i])!.leaseId })
      await store.complete([settle(0)])
      await store.deadLetter([{ ...settle(1), reason: 'bad' }])
      await store.skip([{ ...settle(2), reason: 'filtered' }])
      await store.retryLater([{ ...settle(3), runAt: clock.date(HOUR), error: 'HTTP 500' }])
      const each = { pending: 1, retrying: 1, inFlight: 1, delivered: 1, dead: 1, skipped: 1, oldestPendingAt: new Date(T0 + 3) }
      expect(await store.counts()).toEqual({ admitted: 0, ...each, byDestination: { CustomerSuccessBox: each } })
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

    test('reasons groups dead letters, retrying and skipped events by reason', async () => {
      const store = await open()
      const made = await enqueueAll(store, ['a', 'b', 'c', 'd', 'e'].map((k) => newEvent(k)))
      await store.deadLetter([{ id: made[0], reason: 'HTTP 400' }, { id: made[1], reason: 'HTTP 400' }])
      clock.advance(SECOND)
      await store.deadLetter([{ id: made[2], reason: 'HTTP 422' }])
      await store.retryLater([{ id: made[3], runAt: clock.date(HOUR), error: 'HTTP 503' }])
      await store.skip([{ id: made[4], reason: 'Filtered by end user consent' }])
      expect(await store.reasons()).toEqual([
        { destination: 'CustomerSuccessBox', reason: 'HTTP 400', status: 'dead', count: 2, lastAt: new Date(T0) },
        { destination: 'CustomerSuccessBox', reason: 'Filtered by end user consent', status: 'skipped', count: 1, lastAt: clock.date() },
        { destination: 'CustomerSuccessBox', reason: 'HTTP 422', status: 'dead', count: 1, lastAt: clock.date() },
        { destination: 'CustomerSuccessBox', reason: 'HTTP 503', status: 'retrying', count: 1, lastAt: clock.date() }
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

    test('meta set if absent: the first value stays, every call answers it', async () => {
      const store = await open()
      expect(await store.setMetaIfAbsent('generated', 'first')).toBe('first')
      expect(await store.setMetaIfAbsent('generated', 'second')).toBe('first')
      expect(await store.getMeta('generated')).toBe('first')
      const together = await Promise.all(['a', 'b', 'c'].map((v) => store.setMetaIfAbsent('together', v)))
      expect(new Set(together).size).toBe(1)
      expect(await store.getMeta('together')).toBe(together[0])
    })
  })

  describe('names (CSB features and modules)', () => {
    test('known names are always admitted, new ones until the limit; refusals keep their order; kinds count apart', async () => {
      const store = await open()
      expect(await store.admitNames('feature', ['a', 'b', 'a'], 3)).toEqual({ refused: [], count: 2 })
      expect(await store.admitNames('feature', ['c', 'd', 'b', 'e'], 3)).toEqual({ refused: ['d', 'e'], count: 3 })
      // Full: known names still pass, new ones do not.
      expect(await store.admitNames('feature', ['a', 'c', 'f'], 3)).toEqual({ refused: ['f'], count: 3 })
      expect(await store.admitNames('module', ['a', 'x'], 1)).toEqual({ refused: ['x'], count: 1 })
      expect(await store.listNames('feature')).toEqual(['a', 'b', 'c'])
      expect(await store.listNames('module')).toEqual(['a'])
      expect(await store.listNames('nothing')).toEqual([])
      // A higher limit admits more; nothing is forgotten.
      expect(await store.admitNames('feature', ['f'], 4)).toEqual({ refused: [], count: 4 })
      expect(await store.listNames('feature')).toEqual(['a', 'b', 'c', 'f'])
    })

    test('admissions at once never pass the limit', async () => {
      const store = await open()
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => store.admitNames('feature', [`n${i}`, `m${i}`], 5)))
      const admitted = answers.flatMap((a, i) => [`n${i}`, `m${i}`].filter((n) => !a.refused.includes(n)))
      expect(admitted).toHaveLength(5)
      expect((await store.listNames('feature')).sort()).toEqual(admitted.sort())
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
}
