/** purgeUsers: every row of the users goes, at every status and destination; the rest stays deliverable, in order. */
import { describe, expect } from 'vitest'
import type { Counts, Store } from '../../../../src/store/types'
import { lease, SECOND, type Suite } from './harness'
import { userEvent } from './suppression'

const CSB = 'CustomerSuccessBox'
const HOOKS = 'hooks'

/** The counts the rows themselves give, to hold the store's totals against. */
async function countedRows(store: Store): Promise<Partial<Counts>> {
  const rows = await store.list({ limit: 1000 })
  const n = (status: string) => rows.filter((e) => e.status === status).length
  return { delivered: n('delivered'), dead: n('dead'), skipped: n('skipped') }
}

export function purgeTests(suite: Suite): void {
  const { clock, open, test } = suite

  describe('purge', () => {
    test('removes the users\' rows of every status at every destination, their aliases and identity links; others stay', async () => {
      const store = await open(undefined, { destinations: [CSB, HOOKS] })
      const events = [
        userEvent('u', 'acct', { traits: { email: 'u@example.com' } }), // delivered, with samples
        userEvent('u', 'u'), // dead
        userEvent('u', 'u'), // skipped
        userEvent('u', 'acct'), // pending, its key's head
        userEvent('v', 'acct'), // v's, behind it: stays
        userEvent('new-id', 'new-id', { type: 'alias', previousId: 'u' }), // an alias from u, leased
        userEvent('v', 'v'), // delivered: stays
        userEvent('u2', 'u2') // the second purged user's, delivered
      ]
      events[5] = { ...events[5], type: 'alias' }
      const ids = await suite.enqueueAll(store, events)
      for (const destination of [CSB, HOOKS]) {
        const first = await store.lease({ limit: 10, leaseMs: 30 * SECOND, owner: 't', destination })
        const row = (i: number) => first.find((e) => e.messageId === events[i].messageId)!
        await store.complete([{ id: row(0).id, leaseId: row(0).leaseId, samples: { request: { body: 'u@example.com' } } }])
        await store.deadLetter([{ id: row(1).id, leaseId: row(1).leaseId, reason: 'HTTP 400' }])
        await store.complete([row(6), row(7)].map((e) => ({ id: e.id, leaseId: e.leaseId })))
        // The alias row stays leased; key u's next event is skipped.
        const [second] = await store.lease({ limit: 10, leaseMs: 30 * SECOND, owner: 't', destination, excludeKeys: ['acct'] })
        expect(second.messageId).toBe(events[2].messageId)
        await store.skip([{ id: second.id, leaseId: second.leaseId, reason: 'filtered' }])
      }
      await store.linkIdentities([{ userKey: 'u', accountId: 'a1' }, { userKey: 'acct', accountId: 'a1' }, { userKey: 'v', accountId: 'a2' }])
      expect(await store.counts()).toMatchObject({ delivered: 6, dead: 2, skipped: 2, pending: 4, inFlight: 2 })

      // The alias rows' leases are another owner's (no owner given): the result says when they run out.
      expect(await store.purgeUsers(['u', 'u2'])).toEqual({ events: 12, admittedEvents: 0, identityLinks: 2, leasedElsewhereUntil: clock.now() + 30 * SECOND })
      const left = await store.list({ limit: 100 })
      expect(left.map((e) => [e.messageId, e.destination, e.status]).sort()).toEqual([
        [events[4].messageId, CSB, 'pending'], [events[4].messageId, HOOKS, 'pending'],
        [events[6].messageId, CSB, 'delivered'], [events[6].messageId, HOOKS, 'delivered']
      ].sort())
      for (const id of ids.filter((_, i) => i !== 4 && i !== 6)) expect(await store.get(id)).toBeNull()
      expect([...(await store.accountsFor(['u', 'acct', 'v'])).entries()]).toEqual([['v', 'a2']])
      expect(await store.counts()).toMatchObject({ ...(await countedRows(store)), delivered: 2, inFlight: 0, pending: 2, retrying: 0 })
      // v's event, held back behind u's on key acct, leases now at both destinations.
      expect((await lease(store, 10)).map((e) => e.messageId)).toEqual([events[4].messageId, events[4].messageId])
    })

    test('a leased row purged: its holder\'s outcome is ignored, the key moves on, and nothing comes back', async () => {
      const store = await open()
      const [gone, next] = await suite.enqueueAll(store, [userEvent('u', 'shared'), userEvent('v', 'shared')])
      const [held] = await lease(store, 10)
      expect(held.id).toBe(gone)
      expect(await store.purgeUsers(['u'])).toMatchObject({ events: 1 })
      await store.complete([{ id: gone, leaseId: held.leaseId }])
      await store.retryLater([{ id: gone, runAt: clock.date(), error: 'late' }])
      await store.deadLetter([{ id: gone, reason: 'late' }])
      await store.skip([{ id: gone, reason: 'late' }])
      await store.extendLease([gone], 30 * SECOND)
      expect(await store.get(gone)).toBeNull()
      const [after] = await lease(store, 10)
      expect(after.id).toBe(next)
      await store.complete([{ id: next, leaseId: after.leaseId }])
      expect(await store.counts()).toMatchObject({ pending: 0, retrying: 0, inFlight: 0, delivered: 1, dead: 0, skipped: 0 })
      expect(await lease(store, 10)).toEqual([])
    })

    test('purges events admitted and not yet queued; the rest of their batches is queued in order', async () => {
      const store = await open()
      const batch = Array.from({ length: 600 }, (_, i) => userEvent(i % 3 === 0 ? 'u' : `v${i % 2}`))
      await store.admit(batch)
      const result = await store.purgeUsers(['u'])
      // Queued already (events) or still admitted (admittedEvents): 200 either way.
      expect(result.events + result.admittedEvents).toBe(200)
      expect((await store.list({ limit: 1000 })).map((e) => e.messageId).reverse()).toEqual(
        batch.filter((e) => e.event.userId !== 'u').map((e) => e.messageId)
      )
      expect(await store.counts()).toMatchObject({ admitted: 0, pending: 400 })
    })

    test('odd text in events (an escaped NUL, a lone surrogate) neither fails the scans nor hides its user', async () => {
      const store = await open()
      const odd = userEvent('v', 'v', { properties: { text: 'a\u0000b \ud800 \\u0000' } })
      const [oddId, nulId, uId] = await suite.enqueueAll(store, [odd, userEvent('nul\u0000user', 'k-nul'), userEvent('u', 'k-u')])
      await store.suppress(['u', 'nul\u0000user'], 'suppressed')
      expect((await store.get(uId))!.status).toBe('skipped')
      expect((await store.get(nulId))!.status).toBe('skipped')
      expect((await store.enqueue([userEvent('nul\u0000user')]))[0].suppressed).toBe(true)
      expect(await store.purgeUsers(['nul\u0000user', 'u'])).toMatchObject({ events: 2 })
      expect(await store.get(nulId)).toBeNull()
      expect((await store.get(oddId))!.event).toEqual(odd.event)
    })

    test('other users\' rows keep no samples naming the users (a batch sent together); samples naming others stay', async () => {
      const store = await open()
      const events = [userEvent('u', 'k-u'), userEvent('v', 'k-v'), userEvent('x', 'k-x'), userEvent('w', 'k-w')]
      const [, vId, xId, wId] = await suite.enqueueAll(store, events)
      const rows = await lease(store, 10)
      const row = (id: string) => rows.find((e) => e.id === id)!
      // A batch's request body as text of JSON (one escape level more), and as an object.
      const batchText = JSON.stringify({ batch: [{ userId: 'u', traits: { email: 'u@example.com' } }, { userId: 'v' }] })
      await store.complete([
        { id: vId, leaseId: row(vId).leaseId, samples: { request: { body: batchText }, response: { status: 200 } } },
        { id: xId, leaseId: row(xId).leaseId, samples: { request: { body: { batch: [{ user_id: 'u' }, { user_id: 'x' }] } } } },
        { id: wId, leaseId: row(wId).leaseId, samples: { request: { body: { batch: [{ userId: 'uu' }, { userId: 'w', note: 'u-turn' }] } } } }
      ])
      expect(await store.purgeUsers(['u'])).toMatchObject({ events: 1 })
      expect((await store.get(vId))!.samples).toBeNull()
      expect((await store.get(xId))!.samples).toBeNull()
      expect((await store.get(wId))!.samples).toEqual({ request: { body: { batch: [{ userId: 'uu' }, { userId: 'w', note: 'u-turn' }] } } })
      expect(await store.counts()).toMatchObject({ delivered: 3, pending: 0 })
    })

    test('unlinks the CSB user ids the purged events name (traits, properties, context.traits), queued or admitted', async () => {
      const store = await open()
      await suite.enqueueAll(store, [
        userEvent('u', 'k-1', { traits: { user_id: 'csb-t' } }),
        userEvent('u', 'k-2', { type: 'track', properties: { user_id: 77 } }),
        userEvent('u', 'k-3', { context: { traits: { user_id: 'csb-c' } } }),
        userEvent('v', 'k-4', { traits: { user_id: 'csb-v' } })
      ])
      // Queued or still in the inbox, whichever the engine has done by the purge.
      const batch = Array.from({ length: 600 }, (_, i) => userEvent(i === 7 ? 'u' : 'w', `k-b${i}`, i === 7 ? { traits: { user_id: 'csb-a' } } : {}))
      await store.admit(batch)
      const keys = ['csb-t', '77', 'csb-c', 'csb-a', 'csb-v']
      await store.linkIdentities(keys.map((userKey) => ({ userKey, accountId: 'acct' })))
      expect(await store.purgeUsers(['u'])).toMatchObject({ identityLinks: 4 })
      expect([...(await store.accountsFor(keys)).entries()]).toEqual([['csb-v', 'acct']])
    })

    test('a numeric userId or alias previousId is the user whose id is its text (purge and suppression)', async () => {
      const store = await open()
      const alias = { ...userEvent('new-id', 'k-a', { type: 'alias', previousId: 123 }), type: 'alias' }
      const numeric = userEvent('x', 'k-n')
      // Ingest writes ids as text; a numeric one in a stored event is read as its text all the same.
      Object.assign(numeric.event, { userId: 456 })
      const [aliasId, numericId, otherId] = await suite.enqueueAll(store, [alias, numeric, userEvent('v', 'k-v')])
      // The suppression's scan of unfinished rows reads it the same way.
      await store.suppress(['456'], 'suppressed')
      expect((await store.get(numericId))!.status).toBe('skipped')
      expect(await store.purgeUsers(['123', '456'])).toMatchObject({ events: 2 })
      expect(await store.get(aliasId)).toBeNull()
      expect(await store.get(numericId)).toBeNull()
      expect(await store.get(otherId)).not.toBeNull()
    })

    test('purging users the store knows nothing of removes nothing', async () => {
      const store = await open()
      await store.enqueue([userEvent('v')])
      expect(await store.purgeUsers(['nobody'])).toEqual({ events: 0, admittedEvents: 0, identityLinks: 0 })
      expect(await store.purgeUsers([])).toEqual({ events: 0, admittedEvents: 0, identityLinks: 0 })
      expect(await store.counts()).toMatchObject({ pending: 1 })
    })
  })
}
