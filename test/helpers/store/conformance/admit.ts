/** admit: durable at once, queued in call order with enqueue's dedupe; onQueued; serialised and opaque batches. */
import path from 'node:path'
import { describe, expect } from 'vitest'
import { serialiseEvents } from '../../../../src/store/serialised'
import type { QueuedSummary } from '../../../../src/store/types'
import { lease, newEvent, type Suite } from './harness'

const EXPANDER = path.join(__dirname, '..', 'fixtures', 'expander.ts')
/** More than an admit the SQLite engine queues directly: these go through its inbox. */
const LARGE = 500

/** Every admitted event is in the queue once `list` answers (reads see admitted events). */
async function messageIds(store: Awaited<ReturnType<Suite['open']>>): Promise<string[]> {
  return (await store.list({ limit: 1000 })).map((e) => e.messageId).reverse()
}

export function admitTests(suite: Suite): void {
  const { open, test } = suite

  describe('admit', () => {
    test('queues admitted events in the order of the calls, behind earlier enqueues, small and large alike', async () => {
      const store = await open()
      const first = newEvent('u1')
      await store.enqueue([first])
      const small = [newEvent('u1'), newEvent('u2')]
      await store.admit(small)
      const large = Array.from({ length: LARGE }, (_, i) => newEvent(`u${i % 3}`))
      await store.admit(large)
      const last = newEvent('u1')
      await store.enqueue([last])
      expect(await messageIds(store)).toEqual([first, ...small, ...large, last].map((e) => e.messageId))
      // Per-key order holds for delivery too: the first lease of u1 is its oldest event.
      const leased = await lease(store, 10)
      expect(leased.find((e) => e.orderingKey === 'u1')!.messageId).toBe(first.messageId)
    })

    test('dedupes admitted events against the queue and each other, and onQueued reports what was queued', async () => {
      const store = await open()
      const summaries: QueuedSummary[] = []
      store.onQueued((s) => summaries.push(s))
      const a = newEvent('u1')
      await store.enqueue([a])
      const b = newEvent('u1', { type: 'identify' })
      await store.admit([{ ...a }, b, { ...b }])
      expect(await messageIds(store)).toEqual([a.messageId, b.messageId])
      const total = (type: string) => summaries.flat().filter((s) => s.type === type)
      expect(total('track').reduce((n, s) => n + s.duplicates, 0)).toBe(1)
      expect(total('track').reduce((n, s) => n + s.queued, 0)).toBe(0)
      expect(total('identify').reduce((n, s) => n + s.queued, 0)).toBe(1)
      expect(total('identify').reduce((n, s) => n + s.duplicates, 0)).toBe(1)
    })

    test('takes events serialised on another thread (serialiseEvents) as it takes objects', async () => {
      const store = await open()
      const events = [newEvent('u1', { messageId: 'ser-1' }), newEvent('u2', { messageId: 'ser-2\nwith a newline', event: { type: 'track', messageId: 'x', text: 'line\nbreak \u2028 ✓' } })]
      await store.admit(serialiseEvents(events))
      const stored = (await store.list({ limit: 10 })).reverse()
      expect(stored.map((e) => [e.messageId, e.orderingKey, e.event])).toEqual(events.map((e) => [e.messageId, e.orderingKey, e.event]))
    })

    test('expands opaque batches with the expander it was opened with; without one, refuses them', async () => {
      const store = await open(undefined, { expander: EXPANDER })
      const body = Buffer.from(JSON.stringify(Array.from({ length: LARGE }, (_, i) => [`k${i % 4}`, `op-${i}`])))
      await store.admit({ opaque: true, n: LARGE, head: 'opaque', body })
      const ids = await messageIds(store)
      expect(ids).toHaveLength(LARGE)
      expect(ids[0]).toBe('op-0')
      expect(ids[LARGE - 1]).toBe(`op-${LARGE - 1}`)
      expect((await store.list({ limit: 1 }))[0]).toMatchObject({ source: 'opaque', type: 'track', event: { event: 'Expanded' } })

      const plain = await open()
      await expect(plain.admit({ opaque: true, n: 1, head: 'opaque', body: Buffer.from('[["k","m"]]') })).rejects.toThrow(/expander/)
    })

    test('counts admitted events as backlog until they are queued, and an empty admit does nothing', async () => {
      const store = await open()
      await store.admit([])
      await store.admit(Array.from({ length: LARGE }, () => newEvent('u1')))
      const counts = await store.counts()
      // Queued already or still admitted: every event is unfinished, none is lost or counted twice.
      expect(counts.admitted + counts.pending).toBe(LARGE)
      await store.list({ limit: 1 })
      expect(await store.counts()).toMatchObject({ admitted: 0, pending: LARGE })
    })
  })
}
