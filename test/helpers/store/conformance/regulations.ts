/** Regulation records: create, get, list, update, and claims no two instances hold at once. */
import { describe, expect } from 'vitest'
import type { Regulation } from '../../../../src/store/types'
import { MINUTE, SECOND, type Suite } from './harness'

const ZERO = { suppressed: 0, unsuppressed: 0, events: 0, admittedEvents: 0, identityLinks: 0, destinationDeletes: 0, destinationDeleteFailures: 0 }
const idsOf = (regulations: Regulation[]) => regulations.map((r) => r.id)

export function regulationTests(suite: Suite): void {
  const { clock, open, openFresh, test } = suite

  describe('regulation records', () => {
    test('a new regulation is RUNNING under a fresh URL-safe id, and reads back as created', async () => {
      const store = await open()
      const created = await store.createRegulation({ type: 'SUPPRESS_WITH_DELETE', subjectIds: ['u1', 'u2', 'u1'], origin: 'api' })
      expect(created).toEqual({
        id: expect.stringMatching(/^[A-Za-z0-9_-]{16,}$/), type: 'SUPPRESS_WITH_DELETE', subjectType: 'USER_ID', subjectIds: ['u1', 'u2'],
        status: 'RUNNING', origin: 'api', createdAt: clock.date(), finishedAt: null, counts: ZERO, error: null
      })
      expect(await store.getRegulation(created.id)).toEqual(created)
      const other = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: ['u3'], origin: 'event' })
      expect(other.id).not.toBe(created.id)
      expect(await store.getRegulation('no-such-id')).toBeNull()
    })

    test('refuses a type it does not know, and ids that are not strings, naming the field', async () => {
      const store = await open()
      await expect(store.createRegulation({ type: 'ERASE' as never, subjectIds: ['u'], origin: 'api' })).rejects.toThrow(/type "ERASE"/)
      await expect(store.createRegulation({ type: 'DELETE_ONLY', subjectIds: [7 as never], origin: 'api' })).rejects.toThrow(/subjectIds/)
      expect(await store.listRegulations()).toEqual([])
    })

    test('lists newest first, with a limit and a status filter', async () => {
      const store = await open()
      const made: Regulation[] = []
      for (let i = 0; i < 5; i++) {
        made.push(await store.createRegulation({ type: 'SUPPRESS_ONLY', subjectIds: [`u${i}`], origin: 'api' }))
        clock.advance(SECOND)
      }
      await store.updateRegulation(made[1].id, { status: 'FINISHED' })
      await store.updateRegulation(made[3].id, { status: 'FAILED', error: 'boom' })
      expect(idsOf(await store.listRegulations())).toEqual(idsOf([...made].reverse()))
      expect(idsOf(await store.listRegulations({ limit: 2 }))).toEqual([made[4].id, made[3].id])
      expect(idsOf(await store.listRegulations({ status: 'RUNNING' }))).toEqual([made[4].id, made[2].id, made[0].id])
      expect(idsOf(await store.listRegulations({ status: 'FAILED' }))).toEqual([made[3].id])
    })

    test('updates add to the counts, set the error, and a finishing status sets finishedAt', async () => {
      const store = await open()
      const { id } = await store.createRegulation({ type: 'SUPPRESS_WITH_DELETE', subjectIds: ['u'], origin: 'cli' })
      await store.updateRegulation(id, { addCounts: { suppressed: 1, events: 5 } })
      await store.updateRegulation(id, { addCounts: { events: 2, identityLinks: 1 }, error: 'hooks: onDelete failed' })
      expect(await store.getRegulation(id)).toMatchObject({
        status: 'RUNNING', finishedAt: null, error: 'hooks: onDelete failed', counts: { ...ZERO, suppressed: 1, events: 7, identityLinks: 1 }
      })
      clock.advance(MINUTE)
      await store.updateRegulation(id, { status: 'FINISHED', error: null })
      expect(await store.getRegulation(id)).toMatchObject({ status: 'FINISHED', finishedAt: clock.date(), error: null, counts: { events: 7 } })
      await expect(store.updateRegulation('no-such-id', { status: 'FAILED' })).rejects.toThrow(/no-such-id/)
    })
  })

  describe('regulation claims', () => {
    test('claims RUNNING regulations oldest first; a claim keeps them from others until it runs out', async () => {
      const store = await open()
      const made: Regulation[] = []
      for (let i = 0; i < 3; i++) {
        made.push(await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: [`u${i}`], origin: 'api' }))
        clock.advance(SECOND)
      }
      await store.updateRegulation(made[0].id, { status: 'FINISHED' })
      expect(idsOf(await store.claimRegulations('a', MINUTE, 1))).toEqual([made[1].id])
      expect(idsOf(await store.claimRegulations('b', MINUTE, 10))).toEqual([made[2].id])
      expect(await store.claimRegulations('c', MINUTE, 10)).toEqual([])
      clock.advance(MINUTE)
      // Both claims ran out: whoever asks next takes them.
      expect(idsOf(await store.claimRegulations('c', MINUTE, 10))).toEqual([made[1].id, made[2].id])
      await store.updateRegulation(made[1].id, { status: 'FINISHED' })
      clock.advance(MINUTE)
      expect(idsOf(await store.claimRegulations('d', MINUTE, 10))).toEqual([made[2].id])
    })

    test('two instances claiming at once never hold one regulation both', async () => {
      const { store: one, url } = await openFresh()
      const two = await open(url)
      const made = new Set<string>()
      for (let i = 0; i < 12; i++) made.add((await one.createRegulation({ type: 'DELETE_ONLY', subjectIds: [`u${i}`], origin: 'api' })).id)
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? one : two).claimRegulations(`owner-${i}`, MINUTE, 2)))
      const claimed = claims.flatMap(idsOf)
      expect(new Set(claimed).size).toBe(claimed.length)
      expect(claimed.sort()).toEqual([...made].sort())
    })
  })
}
