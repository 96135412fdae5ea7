/** Regulation records: create, get, list, update, and claims (renewed, released) no two instances hold at once. */
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
        // URL-safe, and never starting with "-", which a command line would read as an option.
        id: expect.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{15,}$/), type: 'SUPPRESS_WITH_DELETE', subjectType: 'USER_ID', subjectIds: ['u1', 'u2'],
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

    test('an error is stored cleaned (a NUL as U+FFFD) and cut to 2,000 characters, so a FAILED update never throws', async () => {
      const store = await open()
      const { id } = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: ['u'], origin: 'api' })
      await store.updateRegulation(id, { status: 'FAILED', error: 'hooks: body a\u0000b \ud800' })
      expect(await store.getRegulation(id)).toMatchObject({ status: 'FAILED', error: 'hooks: body a\ufffdb \ufffd' })
      const long = `${'é'.repeat(1998)}\ud83d\ude00${'x'.repeat(5000)}`
      await store.updateRegulation(id, { error: long })
      const { error } = (await store.getRegulation(id))!
      expect(error).toHaveLength(2000)
      // Cut inside the pair: its first half is cleaned rather than left alone.
      expect(error).toBe(`${'é'.repeat(1998)}\ufffd…`)
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

    test('the holder renews its claim: it keeps the regulation past the first claim\'s end; another owner cannot renew it', async () => {
      const store = await open()
      const { id } = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: ['u'], origin: 'api' })
      expect(idsOf(await store.claimRegulations('a', MINUTE, 10))).toEqual([id])
      clock.advance(40 * SECOND)
      expect(await store.renewRegulationClaim(id, 'a', MINUTE)).toBe(true)
      expect(await store.renewRegulationClaim(id, 'b', MINUTE)).toBe(false)
      // 80 s after the claim: past the first claim's end, within the renewed one.
      clock.advance(40 * SECOND)
      expect(await store.claimRegulations('b', MINUTE, 10)).toEqual([])
      clock.advance(20 * SECOND)
      expect(idsOf(await store.claimRegulations('b', MINUTE, 10))).toEqual([id])
    })

    test('a renewal fails once another owner took the claim, the regulation finished, or it was never claimed', async () => {
      const store = await open()
      const taken = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: ['u1'], origin: 'api' })
      const never = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: ['u2'], origin: 'api' })
      expect(idsOf(await store.claimRegulations('a', MINUTE, 1))).toEqual([taken.id])
      clock.advance(MINUTE)
      // a's claim ran out and nobody took it: still a's to renew.
      expect(await store.renewRegulationClaim(taken.id, 'a', MINUTE)).toBe(true)
      clock.advance(MINUTE)
      expect(idsOf(await store.claimRegulations('b', MINUTE, 1))).toEqual([taken.id])
      expect(await store.renewRegulationClaim(taken.id, 'a', MINUTE)).toBe(false)
      expect(await store.renewRegulationClaim(taken.id, 'b', MINUTE)).toBe(true)
      await store.updateRegulation(taken.id, { status: 'FINISHED' })
      expect(await store.renewRegulationClaim(taken.id, 'b', MINUTE)).toBe(false)
      expect(await store.renewRegulationClaim(never.id, 'a', MINUTE)).toBe(false)
      expect(await store.renewRegulationClaim('no-such-id', 'a', MINUTE)).toBe(false)
    })

    test('a released claim lets another owner claim at once; only the holder releases', async () => {
      const store = await open()
      const { id } = await store.createRegulation({ type: 'SUPPRESS_ONLY', subjectIds: ['u'], origin: 'api' })
      expect(idsOf(await store.claimRegulations('a', 15 * MINUTE, 10))).toEqual([id])
      expect(await store.releaseRegulationClaim(id, 'b')).toBe(false)
      expect(await store.claimRegulations('b', MINUTE, 10)).toEqual([])
      expect(await store.releaseRegulationClaim(id, 'a')).toBe(true)
      expect(await store.renewRegulationClaim(id, 'a', MINUTE)).toBe(false)
      expect(idsOf(await store.claimRegulations('b', MINUTE, 10))).toEqual([id])
      expect(await store.releaseRegulationClaim(id, 'a')).toBe(false)
      expect(await store.claimRegulations('c', MINUTE, 10)).toEqual([])
      await store.updateRegulation(id, { status: 'FINISHED' })
      expect(await store.releaseRegulationClaim(id, 'b')).toBe(false)
      expect(await store.getRegulation(id)).toMatchObject({ status: 'FINISHED' })
    })

    test('renewals racing a claim on another instance: exactly one owner holds the regulation', async () => {
      const { store: one, url } = await openFresh()
      const two = await open(url)
      const { id } = await one.createRegulation({ type: 'DELETE_ONLY', subjectIds: ['u'], origin: 'api' })
      for (let round = 0; round < 6; round++) {
        const holder = `holder-${round}`
        expect(idsOf(await (round % 2 ? one : two).claimRegulations(holder, MINUTE, 1))).toEqual([id])
        clock.advance(MINUTE)
        const [renewed, claimed] = await Promise.all([
          (round % 2 ? two : one).renewRegulationClaim(id, holder, MINUTE),
          (round % 2 ? one : two).claimRegulations(`thief-${round}`, MINUTE, 1)
        ])
        // Either the renewal came first (the thief finds it held) or the thief did (the renewal fails).
        expect(renewed).toBe(claimed.length === 0)
        await (renewed ? one.releaseRegulationClaim(id, holder) : two.releaseRegulationClaim(id, `thief-${round}`))
      }
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
