/** Regulations while the queue works: suppressions and purges meeting concurrent enqueues, leases and outcomes. */
import { describe, expect } from 'vitest'
import type { Store, StoredEvent } from '../../../../src/store/types'
import { lease, type Suite } from './harness'
import { userEvent } from './suppression'

/** Every row, newest first (paging through list). */
async function allRows(store: Store): Promise<StoredEvent[]> {
  const rows: StoredEvent[] = []
  for (let page = await store.list({ limit: 1000 }); page.length > 0; page = await store.list({ limit: 1000, beforeId: page.at(-1)!.id })) rows.push(...page)
  return rows
}

export function regulationRaceTests(suite: Suite): void {
  const { clock, open, openFresh, test } = suite

  describe('regulations while the queue works', () => {
    test('events enqueued on two instances while a suppression commits are dropped or skipped, never left pending', async () => {
      const { store: one, url } = await openFresh()
      const two = await open(url)
      let stop = false
      let calls = 0
      const pump = async (store: Store) => {
        while (!stop) {
          await store.enqueue([userEvent('u'), userEvent('v')])
          calls++
        }
      }
      const pumps = [pump(one), pump(two), pump(two)]
      while (calls < 6) await new Promise((resolve) => setTimeout(resolve, 2))
      await one.suppress(['u'], 'suppressed')
      expect((await two.enqueue([userEvent('u')]))[0].suppressed).toBe(true)
      stop = true
      await Promise.all(pumps)
      const rows = await allRows(two)
      expect(rows.filter((e) => e.event.userId === 'u' && e.status === 'pending')).toEqual([])
      expect(rows.filter((e) => e.event.userId === 'u' && e.status === 'skipped').length).toBeGreaterThan(0)
      expect(rows.filter((e) => e.event.userId === 'v').length).toBe(calls)
    })

    test('purges while events are enqueued, leased and settled leave every key deliverable, in order, and the totals right', async () => {
      const store = await open()
      const enqueued = new Map<string, string[]>()
      const delivered = new Map<string, string[]>()
      const produce = async () => {
        for (let i = 0; i < 40; i++) {
          const batch = [userEvent('u', 'shared'), userEvent('v', 'shared'), userEvent('v', 'v-key'), userEvent('u', 'u-key')]
          await store.enqueue(batch)
          for (const e of batch) if (e.event.userId === 'v') enqueued.set(e.orderingKey, [...(enqueued.get(e.orderingKey) ?? []), e.messageId])
        }
      }
      let round = 0
      const work = async (until: () => boolean) => {
        while (!until()) {
          const leased = await lease(store, 4)
          for (const e of leased) {
            round++
            // Every third attempt fails once and is retried at once; the others deliver.
            if (round % 3 === 0) await store.retryLater([{ id: e.id, leaseId: e.leaseId, runAt: clock.date(), error: 'HTTP 503' }])
            else {
              await store.complete([{ id: e.id, leaseId: e.leaseId }])
              if (e.event.userId === 'v') delivered.set(e.orderingKey, [...(delivered.get(e.orderingKey) ?? []), e.messageId])
            }
          }
          if (leased.length === 0) await new Promise((resolve) => setTimeout(resolve, 1))
        }
      }
      let producing = true
      const purges = (async () => {
        let removed = 0
        while (producing) {
          removed += (await store.purgeUsers(['u'])).events
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        return removed
      })()
      const working = work(() => !producing)
      await produce()
      producing = false
      await Promise.all([purges, working])
      await store.purgeUsers(['u'])
      // Whatever is left delivers, in order.
      let idle = 0
      await work(() => (idle += 1) > 400 || (delivered.get('v-key')?.length === 40 && delivered.get('shared')?.length === 40))
      expect(Object.fromEntries(delivered)).toEqual(Object.fromEntries(enqueued))
      const rows = await allRows(store)
      expect(rows.filter((e) => e.event.userId === 'u')).toEqual([])
      expect(rows.every((e) => e.status === 'delivered')).toBe(true)
      expect(await store.counts()).toMatchObject({ pending: 0, retrying: 0, inFlight: 0, delivered: rows.length, dead: 0, skipped: 0 })
      expect(await lease(store, 10)).toEqual([])
    }, 60_000)
  })
}
