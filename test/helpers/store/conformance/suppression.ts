/** Suppression: a suppressed user's events never enter the queue, on every path and instance. */
import path from 'node:path'
import { describe, expect } from 'vitest'
import { serialiseEvents } from '../../../../src/store/serialised'
import type { NewEvent, QueuedSummary, Store } from '../../../../src/store/types'
import { lease, newEvent, SECOND, type Suite } from './harness'

const EXPANDER = path.join(__dirname, '..', 'fixtures', 'expander.ts')
/** More than an admit the SQLite engine queues directly: these go through its inbox. */
const LARGE = 500

/** An event of `user` under ordering key `key` (by default the user). */
export function userEvent(user: string | null, key = user ?? 'anonymous', extra: Record<string, unknown> = {}): NewEvent {
  const e = newEvent(key)
  const event: NewEvent['event'] = { ...e.event, ...extra }
  if (user === null) delete event.userId
  else event.userId = user
  return { ...e, event }
}

/** Every event queued, its messageId, oldest first. */
const queued = async (store: Store): Promise<string[]> => (await store.list({ limit: 1000 })).map((e) => e.messageId).reverse()

export function suppressionTests(suite: Suite): void {
  const { clock, open, openFresh, test } = suite

  describe('suppression', () => {
    test('suppress counts the ids new to the list; suppressedAmong and unsuppress read and lift it', async () => {
      const store = await open()
      expect(await store.suppress(['a', 'b', 'a'], 'suppressed')).toEqual({ added: 2 })
      expect(await store.suppress(['b', 'c'], 'suppressed')).toEqual({ added: 1 })
      expect(await store.suppressedAmong(['a', 'c', 'd'])).toEqual(new Set(['a', 'c']))
      expect(await store.unsuppress(['a', 'd'])).toBe(1)
      expect(await store.suppressedAmong(['a', 'b', 'c'])).toEqual(new Set(['b', 'c']))
      expect(await store.suppressedEvents()).toBe(0)
    })

    test('enqueue drops a suppressed user\'s events and counts them; others, and events without a userId, are queued', async () => {
      const store = await open()
      await store.suppress(['gone'], 'suppressed')
      const events = [userEvent('gone'), userEvent('kept'), userEvent(null, 'anon-1'), userEvent('gone', 'csb-7'), userEvent('kept')]
      const results = await store.enqueue(events)
      expect(results.map((r) => [r.duplicate, r.suppressed === true])).toEqual([[false, true], [false, false], [false, false], [false, true], [false, false]])
      expect(results[0].id).toBe('')
      expect(await queued(store)).toEqual([events[1], events[2], events[4]].map((e) => e.messageId))
      expect(await store.suppressedEvents()).toBe(2)
      expect(await store.counts()).toMatchObject({ pending: 3 })
    })

    test('admit drops them too, small, large, serialised and opaque alike, and onQueued says how many', async () => {
      const store = await open(undefined, { expander: EXPANDER })
      const summaries: QueuedSummary[] = []
      store.onQueued((s) => summaries.push(s))
      // The test expander gives each event the userId of its ordering key.
      await store.suppress(['k1', 'gone'], 'suppressed')
      const small = [userEvent('gone'), userEvent('kept')]
      await store.admit(small)
      const large = Array.from({ length: LARGE }, (_, i) => userEvent(i % 2 === 0 ? 'gone' : 'kept'))
      await store.admit(large)
      const serialised = [userEvent('gone'), userEvent('kept')]
      await store.admit(serialiseEvents(serialised))
      const pairs = Array.from({ length: LARGE }, (_, i) => [`k${i % 4}`, `op-${i}`])
      await store.admit({ opaque: true, n: LARGE, head: 'opaque', body: Buffer.from(JSON.stringify(pairs)) })
      const expected = [...small, ...large, ...serialised].filter((e) => e.event.userId === 'kept').map((e) => e.messageId)
      expected.push(...pairs.filter(([key]) => key !== 'k1').map(([, id]) => id))
      expect(await queued(store)).toEqual(expected)
      const dropped = 1 + LARGE / 2 + 1 + LARGE / 4
      expect(await store.suppressedEvents()).toBe(dropped)
      expect(summaries.flat().reduce((n, s) => n + (s.suppressed ?? 0), 0)).toBe(dropped)
      expect(summaries.flat().reduce((n, s) => n + s.queued, 0)).toBe(expected.length)
    })

    test('a duplicate of an event queued before the suppression is still a duplicate; after unsuppress new events queue again', async () => {
      const store = await open()
      const before = userEvent('u')
      const [first] = await store.enqueue([before])
      await store.suppress(['u'], 'suppressed')
      const during = userEvent('u')
      expect((await store.enqueue([during]))[0]).toMatchObject({ suppressed: true })
      await store.unsuppress(['u'])
      const after = userEvent('u')
      const results = await store.enqueue([{ ...before }, after, { ...during }])
      expect(results[0]).toEqual({ id: first.id, duplicate: true })
      expect(results.map((r) => r.duplicate)).toEqual([true, false, false])
      expect((await store.list({ limit: 10 })).map((e) => [e.messageId, e.status])).toEqual([
        [during.messageId, 'pending'], [after.messageId, 'pending'], [before.messageId, 'skipped']
      ])
    })

    test('suppress skips the user\'s unfinished rows with the reason; a held lease is let go and the key\'s next event leases', async () => {
      const store = await open()
      const [leasedRow, waiting, other, later] = await suite.enqueueAll(store, [
        userEvent('u', 'acct'), userEvent('u', 'acct'), userEvent('v', 'acct'), userEvent('u', 'u-key')
      ])
      const first = await lease(store, 10)
      expect(first.map((e) => e.id).sort()).toEqual([leasedRow, later].sort())
      const held = first.find((e) => e.id === leasedRow)!
      await store.complete([{ id: later, leaseId: first.find((e) => e.id === later)!.leaseId }])
      // The lease was the harness's ('test'): another owner's from this caller's view.
      expect(await store.suppress(['u'], 'Suppressed by regulation', 'runner')).toEqual({ added: 1, leasedElsewhereUntil: clock.now() + 30 * SECOND })
      for (const id of [leasedRow, waiting]) expect(await store.get(id)).toMatchObject({ status: 'skipped', lastError: 'Suppressed by regulation' })
      expect((await store.get(later))!.status).toBe('delivered')
      // The worker that held the lease reports late: ignored, the row stays skipped.
      await store.complete([{ id: leasedRow, leaseId: held.leaseId }])
      await store.retryLater([{ id: waiting, runAt: clock.date(SECOND), error: 'late' }])
      expect(await store.get(leasedRow)).toMatchObject({ status: 'skipped', lastError: 'Suppressed by regulation' })
      // v's event, behind them on the same key, is next.
      expect((await lease(store, 10)).map((e) => e.id)).toEqual([other])
      expect(await store.counts()).toMatchObject({ pending: 0, retrying: 0, inFlight: 1, skipped: 2, delivered: 1 })
      expect(await store.reasons()).toContainEqual(expect.objectContaining({ reason: 'Suppressed by regulation', status: 'skipped', count: 2 }))
    })

    test('a suppression made through one instance holds on another\'s next enqueue, and the count outlives a restart', async () => {
      const { store: one, url } = await openFresh()
      const two = await open(url)
      await two.enqueue([userEvent('u')])
      await one.suppress(['u'], 'suppressed')
      expect((await two.enqueue([userEvent('u'), userEvent('v')])).map((r) => r.suppressed === true)).toEqual([true, false])
      await two.admit(Array.from({ length: LARGE }, () => userEvent('u')))
      expect((await two.list({ limit: 1000 })).filter((e) => e.status === 'pending').map((e) => e.event.userId)).toEqual(['v'])
      await one.unsuppress(['u'])
      expect((await two.enqueue([userEvent('u')]))[0].suppressed).toBeUndefined()
      expect(await one.suppressedEvents()).toBe(1 + LARGE)
      await one.close()
      await two.close()
      const again = await open(url)
      expect(await again.suppressedEvents()).toBe(1 + LARGE)
    })
  })
}
