/** Enqueue, get, dedupe and group commit. */
import { describe, expect } from 'vitest'
import type { NewEvent } from '../../../../src/store/types'
import { HOUR, T0, ids, lease, newEvent, type Suite } from './harness'

export function enqueueTests(suite: Suite): void {
  const { clock, open, openFresh, test } = suite

  describe('enqueue and get', () => {
    test('reports its engine name', async () => {
      const store = await open()
      expect(store.engine).toBe(suite.engine)
    })

    test('stores events with increasing ids, in order, and get returns them as stored', async () => {
      const store = await open()
      const e1 = newEvent('u1', { receivedAt: new Date(T0 - 5) })
      const e2 = newEvent('u2')
      const results = await store.enqueue([e1, e2])
      expect(results.map((r) => r.duplicate)).toEqual([false, false])
      expect(Number(results[1].id)).toBeGreaterThan(Number(results[0].id))
      const got = await store.get(results[0].id)
      expect(got).toMatchObject({
        id: results[0].id, source: 'web', messageId: e1.messageId, orderingKey: 'u1', type: 'track',
        event: e1.event, receivedAt: e1.receivedAt, status: 'pending', attempts: 0, firstFailedAt: null,
        lastError: null, finishedAt: null, action: null, lastStatus: null, samples: null
      })
      expect(got!.runAt.getTime()).toBe(clock.ms)
    })

    test('get answers null for unknown or malformed ids', async () => {
      const store = await open()
      expect(await store.get('999999')).toBeNull()
      expect(await store.get('not-an-id')).toBeNull()
      expect(await store.get('')).toBeNull()
    })

    test('an invalid receivedAt is recorded as the time of storing', async () => {
      const store = await open()
      const [r] = await store.enqueue([newEvent('u1', { receivedAt: new Date('not a date') })])
      expect((await store.get(r.id))!.receivedAt.getTime()).toBe(clock.ms)
    })

    test('an empty enqueue resolves to no results', async () => {
      const store = await open()
      expect(await store.enqueue([])).toEqual([])
    })

    test('keeps unicode and nested JSON intact', async () => {
      const store = await open()
      const e = newEvent('u1')
      e.event = { ...e.event, properties: { name: 'Zoë 😀 "quoted"\n', nested: { list: [1, null, true, { a: 'b' }] } } }
      const [{ id }] = await store.enqueue([e])
      expect((await store.get(id))!.event).toEqual(e.event)
    })
  })

  describe('hostile text', () => {
    test('NUL bytes and odd unicode in ids, keys, reasons, identities and meta are stored without failing', async () => {
      const store = await open()
      const odd = 'a\u0000b \ud800 é 😀 \' " \\ %_'
      const e = newEvent(`key-${odd}`, { messageId: `msg-${odd}`, source: `src-${odd}`, type: `track${odd}` })
      e.event = { ...e.event, text: odd }
      const [first] = await store.enqueue([e])
      expect((await store.enqueue([{ ...e }]))[0]).toEqual({ id: first.id, duplicate: true })
      const [leased] = await store.lease({ limit: 10, leaseMs: 1000, owner: `owner-${odd}` })
      expect(leased.id).toBe(first.id)
      expect((leased.event as { text?: string }).text).toBe(JSON.parse(JSON.stringify(odd)))
      await store.deadLetter([{ id: leased.id, leaseId: leased.leaseId, reason: `HTTP 400 ${odd}`, samples: { response: { body: odd } } }])
      expect((await store.get(first.id))!.lastError).toContain('HTTP 400')
      expect(await store.list({ reason: 'HTTP 400' })).toHaveLength(1)
      expect(await store.replay({ all: true, reason: 'HTTP 400' })).toBe(1)
      await store.linkIdentities([{ userKey: `u-${odd}`, accountId: `acc-${odd}` }])
      expect((await store.accountsFor([`u-${odd}`])).size).toBe(1)
      await store.setMeta(`k-${odd}`, `v-${odd}`)
      expect(await store.getMeta(`k-${odd}`)).toMatch(/^v-a/)
    })
  })

  describe('dedupe', () => {
    test('a messageId seen again from the same source inside the window is acknowledged with the existing id and not queued again', async () => {
      const store = await open()
      const first = newEvent('u1', { messageId: 'dup-1' })
      const [a] = await store.enqueue([first])
      clock.advance(HOUR)
      const [b] = await store.enqueue([newEvent('u1', { messageId: 'dup-1' })])
      expect(b).toEqual({ id: a.id, duplicate: true })
      expect((await store.counts()).pending).toBe(1)
      expect(ids(await lease(store))).toEqual([a.id])
      expect(await lease(store)).toEqual([])
    })

    test('a duplicate inside one call resolves to the first one', async () => {
      const store = await open()
      const results = await store.enqueue([newEvent('u1', { messageId: 'x' }), newEvent('u1', { messageId: 'x' })])
      expect(results).toEqual([{ id: results[0].id, duplicate: false }, { id: results[0].id, duplicate: true }])
    })

    test('duplicates across concurrent calls resolve to the same id', async () => {
      const store = await open()
      const results = await Promise.all([1, 2, 3].map(() => store.enqueue([newEvent('u1', { messageId: 'same' })])))
      const flat = results.flat()
      expect(new Set(flat.map((r) => r.id)).size).toBe(1)
      expect(flat.filter((r) => !r.duplicate)).toHaveLength(1)
    })

    test('dedupe is per source', async () => {
      const store = await open()
      const [a] = await store.enqueue([newEvent('u1', { messageId: 'm', source: 'web' })])
      const [b] = await store.enqueue([newEvent('u1', { messageId: 'm', source: 'server' })])
      expect(b.duplicate).toBe(false)
      expect(b.id).not.toBe(a.id)
    })

    test('a messageId seen outside the window is a new event', async () => {
      const store = await open(undefined, { dedupeWindowMs: HOUR })
      const [a] = await store.enqueue([newEvent('u1', { messageId: 'm' })])
      clock.advance(HOUR + 1)
      const [b] = await store.enqueue([newEvent('u1', { messageId: 'm' })])
      expect(b.duplicate).toBe(false)
      expect(b.id).not.toBe(a.id)
      // ...and the window restarts from the new sighting.
      clock.advance(HOUR - 1)
      expect((await store.enqueue([newEvent('u1', { messageId: 'm' })]))[0]).toEqual({ id: b.id, duplicate: true })
    })

    test('dedupe still holds inside the window after the event itself was pruned', async () => {
      const store = await open(undefined, { dedupeWindowMs: 24 * HOUR, retentionMs: HOUR })
      const [a] = await store.enqueue([newEvent('u1', { messageId: 'm' })])
      const [leased] = await lease(store)
      await store.complete([{ id: leased.id, leaseId: leased.leaseId }])
      clock.advance(2 * HOUR)
      expect(await store.prune()).toBe(1)
      expect(await store.get(a.id)).toBeNull()
      const [again] = await store.enqueue([newEvent('u1', { messageId: 'm' })])
      expect(again).toEqual({ id: a.id, duplicate: true })
      expect((await store.counts()).pending).toBe(0)
    })

    test('prune forgets messageIds older than the window', async () => {
      const store = await open(undefined, { dedupeWindowMs: HOUR })
      await store.enqueue([newEvent('u1', { messageId: 'm' })])
      clock.advance(HOUR + 1)
      await store.prune()
      expect((await store.enqueue([newEvent('u1', { messageId: 'm' })]))[0].duplicate).toBe(false)
    })
  })

  describe('group commit', () => {
    test('concurrent enqueues share transactions and each resolves after commit with its own results', async () => {
      const store = await open()
      const before = store.enqueueTransactions ?? 0
      const calls = Array.from({ length: 50 }, (_, i) => [newEvent(`k${i % 7}`), newEvent(`k${i % 5}`)])
      const results = await Promise.all(calls.map((events) => store.enqueue(events)))
      const used = (store.enqueueTransactions ?? 0) - before
      expect(used).toBeGreaterThan(0)
      expect(used).toBeLessThan(calls.length)
      for (let i = 0; i < calls.length; i++) {
        for (let j = 0; j < 2; j++) {
          const got = await store.get(results[i][j].id)
          expect(got!.messageId).toBe(calls[i][j].messageId)
        }
      }
      // Ids follow call order.
      const flat = results.flat().map((r) => Number(r.id))
      expect(flat).toEqual([...flat].sort((x, y) => x - y))
    })

    test('one call that cannot be stored fails alone; the calls sharing its transaction are stored', async () => {
      const store = await open()
      const bad = newEvent('a')
      bad.event = { ...bad.event, big: BigInt(1) } as unknown as NewEvent['event']
      const good = [newEvent('b'), newEvent('c')]
      const outcomes = await Promise.allSettled([store.enqueue([good[0]]), store.enqueue([bad]), store.enqueue([good[1]])])
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
      expect((await store.counts()).pending).toBe(2)
    })

    test('close waits for enqueues in progress', async () => {
      const { store, url } = await openFresh()
      const pending = store.enqueue([newEvent('a', { messageId: 'late' })])
      await store.close()
      const [result] = await pending
      const reopened = await open(url)
      expect((await reopened.get(result.id))!.messageId).toBe('late')
    })
  })
}
