import { describe, expect, it } from 'vitest'
import { describeFailure } from './classify'
import { isFeatureRequest } from '../destination'
import { NameCheckError, NameGuard, NameLimitError, type AdmitNames, type NameKind } from './names'
import type { NameAdmission } from '../store/types'
import { accepted, enqueue, fastDelivery, segmentEvent, startRig } from '../../test/helpers/delivery'
import { waitFor } from '../../test/helpers/wait'

const FEATURE = 'https://csb.example/api/v1_1/feature'

/** An in-memory admitNames with a call log, as the store's (known names pass, new ones up to the limit). */
function memoryAdmit() {
  const stored: Record<string, string[]> = {}
  const calls: Array<{ kind: NameKind; names: string[] }> = []
  const admit: AdmitNames = async (kind, names, limit) => {
    calls.push({ kind, names })
    const list = (stored[kind] ??= [])
    const refused: string[] = []
    for (const name of names) {
      if (list.includes(name)) continue
      if (list.length >= limit) refused.push(name)
      else list.push(name)
    }
    return { refused, count: list.length } satisfies NameAdmission
  }
  return { admit, calls, stored }
}

const track = (feature: string, module = 'default') => ({ feature_id: feature, module_id: module, account_id: 'a', user_id: 'u' })

describe('NameGuard', () => {
  it('lets known names and requests other than features through at once, without asking', async () => {
    const m = memoryAdmit()
    const guard = new NameGuard(m.admit, { feature: 2, module: 2 })
    guard.preload('feature', ['Known'])
    guard.preload('module', ['default'])
    expect(guard.check(FEATURE, track('Known'))).toBeUndefined()
    expect(guard.check('https://csb.example/api/v1_1/user', { user_id: 'u', feature_id: 'Other' })).toBeUndefined()
    expect(guard.check('https://csb.example/api_js/v1_1/page', track('Other'))).toBeUndefined()
    expect(m.calls).toEqual([])
    expect(guard.stats()).toEqual({ module: { known: 1, limit: 2 }, feature: { known: 1, limit: 2 } })
  })

  it('admits new names up to the limit, then refuses with the field, the name, the setting and the fix', async () => {
    const m = memoryAdmit()
    const guard = new NameGuard(m.admit, { feature: 2, module: 256 })
    await guard.check(FEATURE, track('One'))
    await guard.check(FEATURE, track('Two'))
    const refused = guard.check(FEATURE, track('Three'))
    await expect(refused).rejects.toBeInstanceOf(NameLimitError)
    const err = (await refused!.catch((e: unknown) => e)) as NameLimitError
    expect(err.message).toMatch(/^feature_id is a feature name not sent before, and the relay has already sent 2 distinct feature names to CSB/)
    expect(err.value).toBe('Three')
    expect(err.message).toContain('delivery.maxDistinctFeatures = 2')
    expect(err.message).toMatch(/Fix: .*subscription mapping.*filter.*raise delivery\.maxDistinctFeatures.*replay/)
    // Not retried: dead-lettered at once with that reason.
    const facts = describeFailure(err)
    expect(facts.retryable).toBe(false)
    expect(facts.reason).toMatch(/^NameLimitError: feature_id is a feature name not sent before/)
    // The dashboard's and `csb-relay status`'s fix for that reason: src/ops/fixes.test.ts.
    // Admitted names now pass without asking.
    const asked = m.calls.length
    expect(guard.check(FEATURE, track('One'))).toBeUndefined()
    expect(m.calls.length).toBe(asked)
    expect(guard.stats().feature).toEqual({ known: 2, limit: 2 })
  })

  it('asks once per kind for the new names of one turn, and once per name while an answer is awaited', async () => {
    const m = memoryAdmit()
    const guard = new NameGuard(m.admit, { feature: 256, module: 256 })
    const waits = ['a', 'b', 'a', 'c'].map((f) => guard.check(FEATURE, track(f, 'm1')))
    await Promise.all(waits)
    expect(m.calls).toEqual([
      { kind: 'module', names: ['m1'] },
      { kind: 'feature', names: ['a', 'b', 'c'] }
    ])
  })

  it('a refused module leaves the feature unasked (and uncounted)', async () => {
    const m = memoryAdmit()
    const guard = new NameGuard(m.admit, { feature: 256, module: 1 })
    await guard.check(FEATURE, track('f1', 'm1'))
    const err = await guard.check(FEATURE, track('f2', 'm2'))!.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NameLimitError)
    expect((err as Error).message).toMatch(/^module_id is a module name not sent before.*delivery\.maxDistinctModules = 1/)
    expect((err as NameLimitError).value).toBe('m2')
    expect(m.stored.feature).toEqual(['f1'])
  })

  it('a limit of 0 turns the check off for that kind', () => {
    const m = memoryAdmit()
    const guard = new NameGuard(m.admit, { feature: 0, module: 0 })
    expect(guard.check(FEATURE, track('Anything', 'any'))).toBeUndefined()
    expect(m.calls).toEqual([])
  })

  it('a store failure is retried like a network error, not dead-lettered', async () => {
    const guard = new NameGuard(async () => {
      throw new Error('database is locked')
    }, { feature: 256, module: 256 })
    const err = await guard.check(FEATURE, track('f'))!.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NameCheckError)
    expect(describeFailure(err)).toMatchObject({ retryable: true, reason: expect.stringMatching(/database is locked/) })
    // Asked again next time (the failure is not remembered).
    const again = await guard.check(FEATURE, track('f'))!.catch((e: unknown) => e)
    expect(again).toBeInstanceOf(NameCheckError)
  })

  it('knows the feature endpoints, with or without a query', () => {
    expect(isFeatureRequest(FEATURE)).toBe(true)
    expect(isFeatureRequest('https://csb.example/api_js/v1_1/feature?x=1')).toBe(true)
    expect(isFeatureRequest('https://csb.example/api/v1_1/features')).toBe(false)
    expect(isFeatureRequest('https://csb.example/api/v1_1/login')).toBe(false)
  })
})

describe('the relay keeps to CSB\u2019s distinct feature limit', () => {
  for (const threads of [0, 1]) {
    it(`sends at most maxDistinctFeatures names, dead-letters the rest with the reason, and replay sends them once raised (${threads ? 'worker thread' : 'main thread'})`, async () => {
      const names = ['Report Exported', 'Invoice Paid', 'Seat Added', 'Plan Changed', 'Export Failed']
      const events = names.map((event, i) =>
        segmentEvent({ type: 'track', userId: `u${i}`, event, properties: { account_id: 'acc' } })
      )
      // Each event twice, so that known names are seen passing too.
      const again = names.map((event, i) => segmentEvent({ type: 'track', userId: `u${i}`, event, properties: { account_id: 'acc' } }))
      let rig = await startRig({ delivery: { ...fastDelivery, maxDistinctFeatures: 3 } }, undefined, threads)
      let ids: string[] = []
      try {
        ids = await enqueue(rig.store, [...events, ...again])
        await waitFor('all settled', async () => {
          const s = await Promise.all(ids.map(async (id) => (await rig.store.get(id))?.status))
          return s.every((x) => x === 'delivered' || x === 'dead')
        })
        const sent = accepted(rig.sandbox, '/api/v1_1/feature').map((r) => (r.body as { feature_id: string }).feature_id)
        expect(new Set(sent).size).toBe(3)
        expect(sent).toHaveLength(6)
        const dead = (await Promise.all(ids.map((id) => rig.store.get(id)))).filter((e) => e?.status === 'dead')
        expect(dead).toHaveLength(4)
        // One reason for all (the dashboard groups dead letters by reason).
        expect(new Set(dead.map((e) => e!.lastError)).size).toBe(1)
        for (const e of dead) {
          expect(e!.lastError).toMatch(/NameLimitError: feature_id is a feature name not sent before, and the relay has already sent 3 distinct feature names/)
          expect(sent).not.toContain(e!.event.event)
        }
        expect((await rig.store.listNames('feature')).sort()).toEqual([...new Set(sent)].sort())
        expect(rig.delivery.stats().names.feature).toEqual({ known: 3, limit: 3 })
        // The event tester: a dry run shows the request; sending it is refused the same way, and nothing is sent.
        const before = rig.sandbox.requests().length
        const probe = { type: 'track', userId: 'p', event: 'Never Sent', properties: { account_id: 'acc' } }
        const dry = await rig.delivery.test(probe)
        expect(dry.matches[0]).toMatchObject({ request: { body: { feature_id: 'Never Sent' } } })
        expect(dry.matches[0].error).toBeUndefined()
        const tried = await rig.delivery.test(probe, { send: true })
        expect(tried.matches[0].error).toMatch(/^NameLimitError: feature_id is a feature name not sent before/)
        expect(tried.matches[0].retryable).toBe(false)
        expect(rig.sandbox.requests().length).toBe(before)
      } finally {
        await rig.delivery.stop()
        await rig.sandbox.close()
      }
      // Raised: a new delivery on the same store (as after a restart) sends them on replay.
      rig = await startRig({ delivery: { ...fastDelivery, maxDistinctFeatures: 5 } }, undefined, threads, rig.store)
      try {
        expect(await rig.delivery.replay({ all: true })).toBe(4)
        await waitFor('replayed', async () => {
          const s = await Promise.all(ids.map(async (id) => (await rig.store.get(id))?.status))
          return s.every((x) => x === 'delivered')
        })
        expect(new Set(accepted(rig.sandbox, '/api/v1_1/feature').map((r) => (r.body as { feature_id: string }).feature_id)).size).toBe(2)
        expect((await rig.store.listNames('feature')).sort()).toEqual([...names].sort())
      } finally {
        await rig.close()
      }
    })
  }
})
