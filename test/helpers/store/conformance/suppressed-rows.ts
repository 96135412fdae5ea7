/**
 * A suppressed user's stored rows are never delivered again: not through a replay of dead
 * letters, an expedite after an outage, an admitted batch moved after the suppression, nor the
 * late report of a worker that held a lease.
 */
import { describe, expect } from 'vitest'
import type { Store } from '../../../../src/store/types'
import { lease, MINUTE, SECOND, type Suite } from './harness'
import { userEvent } from './suppression'

const CSB = 'CustomerSuccessBox'
const REASON = 'Suppressed by regulation'
/** More than an admit the SQLite engine queues directly: these go through its inbox. */
const LARGE = 500

/** Leases everything due, completes it, and answers the userIds leased. */
async function drain(store: Store): Promise<string[]> {
  const users: string[] = []
  for (let leased = await lease(store, 1000); leased.length > 0; leased = await lease(store, 1000)) {
    users.push(...leased.map((e) => String(e.event.userId)))
    await store.complete(leased.map((e) => ({ id: e.id, leaseId: e.leaseId })))
  }
  return users
}

export function suppressedRowsTests(suite: Suite): void {
  const { clock, open, enqueueAll, test } = suite

  describe('a suppressed user\'s stored rows', () => {
    test('suppress closes the user\'s dead letters as skipped with its reason, keeping their finish time; replay revives only others\'', async () => {
      const store = await open()
      const [u1, u2, v1] = await enqueueAll(store, [userEvent('u', 'k1'), userEvent('u', 'k2'), userEvent('v', 'k3')])
      await store.deadLetter([u1, u2, v1].map((id) => ({ id, reason: 'HTTP 400: email invalid' })))
      const diedAt = (await store.get(u1))!.finishedAt
      clock.advance(MINUTE)
      await store.suppress(['u'], REASON)
      for (const id of [u1, u2]) expect(await store.get(id)).toMatchObject({ status: 'skipped', lastError: REASON, finishedAt: diedAt })
      expect(await store.counts()).toMatchObject({ dead: 1, skipped: 2, pending: 0 })
      expect(await store.reasons()).toContainEqual(expect.objectContaining({ reason: REASON, status: 'skipped', count: 2 }))
      expect(await store.replay({ ids: [u1, u2] })).toBe(0)
      expect(await store.replay({ all: true })).toBe(1)
      expect(await drain(store)).toEqual(['v'])
      // Lifting the suppression does not bring them back either.
      await store.unsuppress(['u'])
      expect(await store.replay({ all: true })).toBe(0)
      expect((await store.get(u1))!.status).toBe('skipped')
      expect(await store.counts()).toMatchObject({ dead: 0, skipped: 2, delivered: 1 })
    })

    test('a worker that held a lease when the suppression came reports a dead letter late: ignored, and nothing replays', async () => {
      const store = await open()
      await enqueueAll(store, [userEvent('u', 'k1'), userEvent('v', 'k2')])
      const held = await lease(store, 10)
      await store.suppress(['u'], REASON)
      await store.deadLetter(held.map((e) => ({ id: e.id, leaseId: e.leaseId, reason: 'HTTP 400' })))
      expect((await store.list({ limit: 10 })).map((e) => [e.event.userId, e.status]).sort()).toEqual([['u', 'skipped'], ['v', 'dead']])
      expect(await store.replay({ all: true })).toBe(1)
      expect(await drain(store)).toEqual(['v'])
    })

    test('an expedite after an outage makes only others\' retries due: the user\'s were skipped', async () => {
      const store = await open()
      await enqueueAll(store, [userEvent('u', 'k1'), userEvent('v', 'k2'), userEvent('u', 'k3')])
      const outageBegan = clock.date()
      const leased = await lease(store, 10)
      await store.retryLater(leased.map((e) => ({ id: e.id, leaseId: e.leaseId, runAt: clock.date(10 * MINUTE), error: 'HTTP 503', status: 503 })))
      await store.suppress(['u'], REASON)
      clock.advance(SECOND)
      expect(await store.expediteRetries({ destination: CSB, failedSince: outageBegan, now: clock.date() })).toBe(1)
      expect(await drain(store)).toEqual(['v'])
      clock.advance(20 * MINUTE)
      expect(await drain(store)).toEqual([])
      expect(await store.counts()).toMatchObject({ skipped: 2, delivered: 1, retrying: 0, pending: 0 })
    })

    test('events admitted just before the suppression, in a batch of any size, are never leased after it', async () => {
      const store = await open()
      await store.admit([userEvent('u', 'small'), userEvent('v', 'small')])
      await store.admit(Array.from({ length: LARGE }, (_, i) => userEvent(i % 2 === 0 ? 'u' : 'v', `large-${i % 7}`)))
      await store.suppress(['u'], REASON)
      const delivered = await drain(store)
      expect(delivered.length).toBe(1 + LARGE / 2)
      expect(new Set(delivered)).toEqual(new Set(['v']))
      expect((await store.list({ limit: 2000 })).filter((e) => e.event.userId === 'u' && e.status !== 'skipped')).toEqual([])
    })
  })
}
