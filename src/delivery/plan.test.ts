/**
 * Planning an event (plan.ts: route, fill, match), and the event tester that shares it
 * (dry-run.ts): what is skipped and why, which subscriptions run, and on a retry which run again.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { dryRun } from './dry-run'
import { planEvent } from './plan'
import { compileSubscriptions } from './subscriptions'
import type { SegmentEvent } from '../store/types'
import { accepted, enqueue, segmentEvent, startRig, type Rig } from '../../test/helpers/delivery'
import { waitFor } from '../../test/helpers/wait'

let rig: Rig | undefined
afterEach(async () => {
  await rig?.close()
  rig = undefined
})

const statusOf = async (r: Rig, id: string) => (await r.store.get(id))?.status

describe('planning an event, end to end', () => {
  it('skips alias and unsubscribed screen visibly, without calling CSB', async () => {
    rig = await startRig()
    const r = rig
    const ids = await enqueue(r.store, [
      segmentEvent({ type: 'alias', userId: 'u1', previousId: 'anon-1' }),
      segmentEvent({ type: 'screen', userId: 'u1', name: 'Home' })
    ])
    await waitFor('skipped', async () => (await Promise.all(ids.map((id) => statusOf(r, id)))).every((s) => s === 'skipped'))
    expect((await r.store.get(ids[0]))?.lastError).toBe('no subscription matches alias')
    expect((await r.store.get(ids[1]))?.lastError).toBe('no subscription matches screen')
    expect(r.outcomes.map((o) => o.outcome)).toEqual(['skipped', 'skipped'])
    expect(r.sandbox.requests()).toHaveLength(0)
  })

  it('skips events the integrations object turns off', async () => {
    rig = await startRig()
    const r = rig
    const [id] = await enqueue(r.store, [segmentEvent({ type: 'identify', userId: 'u1', traits: { account_id: 'a' }, integrations: { CustomerSuccessBox: false } })])
    await waitFor('skipped', async () => (await statusOf(r, id)) === 'skipped')
    expect(r.sandbox.requests()).toHaveLength(0)
  })

  it('uses subscriptions from the config instead of the presets: page views as features', async () => {
    rig = await startRig({
      subscriptions: [
        {
          name: 'Pages as features',
          subscribe: 'type = "page"',
          partnerAction: 'trackFeature',
          mapping: {
            account_id: { '@path': '$.properties.account_id' },
            user_id: { '@path': '$.userId' },
            feature_id: { '@path': '$.name' },
            module_id: 'Pages',
            timestamp: { '@path': '$.timestamp' }
          }
        }
      ]
    })
    const r = rig
    const ids = await enqueue(r.store, [
      segmentEvent({ type: 'page', userId: 'u1', name: 'Pricing', properties: { account_id: 'a1' } }),
      segmentEvent({ type: 'identify', userId: 'u1', traits: { account_id: 'a1' } })
    ])
    await waitFor('done', async () => (await statusOf(r, ids[0])) === 'delivered' && (await statusOf(r, ids[1])) === 'skipped')
    expect(accepted(r.sandbox).map((q) => q.path)).toEqual(['/api/v1_1/feature'])
    expect(accepted(r.sandbox)[0].body).toMatchObject({ account_id: 'a1', user_id: 'u1', feature_id: 'Pricing', module_id: 'Pages' })
  })

  it('runs every matching subscription; after a retry only the ones not yet delivered run again', async () => {
    rig = await startRig({
      subscriptions: [
        { name: 'as page', subscribe: 'type = "page"', partnerAction: 'trackPage', mapping: undefined as never },
        { name: 'as feature', subscribe: 'type = "page"', partnerAction: 'trackFeature', mapping: { account_id: { '@path': '$.properties.account_id' }, user_id: { '@path': '$.userId' }, feature_id: { '@path': '$.name' } } }
      ].map((s) => (s.mapping ? s : { ...s, mapping: { account_id: { '@path': '$.properties.account_id' }, user_id: { '@path': '$.userId' }, name: { '@path': '$.name' } } }))
    })
    const r = rig
    r.sandbox.setFaults({ rules: [{ match: { path: '/api/v1_1/feature' }, status: 503, count: 1 }] })
    const [id] = await enqueue(r.store, [segmentEvent({ type: 'page', userId: 'u1', name: 'Home', properties: { account_id: 'a1' } })])
    await waitFor('delivered', async () => (await statusOf(r, id)) === 'delivered')
    expect(r.sandbox.requests().map((q) => `${q.path} ${q.status}`)).toEqual(['/api_js/v1_1/page 200', '/api/v1_1/feature 503', '/api/v1_1/feature 200'])
  })

  it('dry run: shows the matching action and the exact request without sending; send=true sends it', async () => {
    rig = await startRig()
    const r = rig
    const event = { type: 'track', userId: 'u1', event: 'Report Exported', properties: { account_id: 'a1' } }
    const result = await r.delivery.test(event)
    expect(result).toMatchObject({ deliver: true, sent: false, matches: [{ partnerAction: 'trackFeature', request: { method: 'POST', url: `${r.sandbox.url}/api/v1_1/feature`, headers: { authorization: '[redacted]' }, body: { account_id: 'a1', user_id: 'u1', feature_id: 'Report Exported' } } }] })
    expect(r.sandbox.requests()).toHaveLength(0)
    const sent = await r.delivery.test(event, { send: true })
    expect(sent).toMatchObject({ sent: true, matches: [{ response: { status: 200 } }] })
    expect(r.sandbox.requests()).toHaveLength(1)
    expect(await r.delivery.test({ type: 'alias', userId: 'x' })).toMatchObject({ deliver: false, skipReason: 'no subscription matches alias' })
  })
})

describe('planEvent', () => {
  const subscriptions = compileSubscriptions(
    [
      { name: 'features', subscribe: 'type = "track" and event = "Used"', partnerAction: 'trackFeature', mapping: {} },
      { name: 'also features', subscribe: 'type = "track"', partnerAction: 'trackFeature', mapping: {} },
      { name: 'users', subscribe: 'type = "identify"', partnerAction: 'identifyUser', mapping: {} }
    ],
    { actions: { trackFeature: {}, identifyUser: {} } }
  )
  const map = new Map([['u-known', 'acc-known']])
  const accounts = { accountsFor: async (keys: string[]) => new Map(keys.filter((k) => map.has(k)).map((k) => [k, map.get(k) as string])) }
  const ev = (e: Record<string, unknown>) => ({ messageId: 'm', ...e }) as SegmentEvent

  it('runs the matched subscriptions not yet delivered on the filled event; matched keeps them all', async () => {
    const plan = await planEvent(ev({ type: 'track', userId: 'u-known', event: 'Used', properties: {} }), { subscriptions, accounts, done: ['features'] })
    expect(plan.kind).toBe('run')
    if (plan.kind !== 'run') return
    expect(plan.matched.map((s) => s.name)).toEqual(['features', 'also features'])
    expect(plan.run.map((s) => s.name)).toEqual(['also features'])
    expect(plan.done).toEqual(['features'])
    expect(plan.filledAccount).toBe('acc-known')
    expect(plan.event.properties).toEqual({ account_id: 'acc-known' })
    expect(plan.links).toEqual([])
  })

  it('skips with the reason: dropped by routing (nothing learned), or no subscription (links still taught)', async () => {
    const dropped = await planEvent(ev({ type: 'identify', userId: 'u1', traits: { account_id: 'a1' } }), {
      subscriptions,
      accounts,
      route: () => ({ deliver: false, reason: 'integrations.CustomerSuccessBox is false' })
    })
    expect(dropped).toEqual({ kind: 'skip', reason: 'integrations.CustomerSuccessBox is false', links: [], filledAccount: null })
    const unmatched = await planEvent(ev({ type: 'group', userId: 'u1', groupId: 'g1' }), { subscriptions, accounts })
    expect(unmatched).toEqual({ kind: 'skip', reason: 'no subscription matches group', links: [{ userKey: 'u1', accountId: 'g1' }], filledAccount: null })
    const page = await planEvent(ev({ type: 'page', userId: 'u-known', name: 'Home' }), { subscriptions, accounts })
    expect(page).toMatchObject({ kind: 'skip', reason: 'no subscription matches page', filledAccount: 'acc-known' })
  })

  it('names the track in the skip reason, as delivery records it and the event tester shows it', async () => {
    const plan = await planEvent(ev({ type: 'track', userId: 'u1', event: 'Other', properties: {} }), { subscriptions: subscriptions.slice(0, 1), accounts })
    expect(plan).toMatchObject({ kind: 'skip', reason: 'no subscription matches track "Other"' })
  })

  it('rejects an event whose routing or matching throws (every attempt would throw again)', async () => {
    const boom = () => {
      throw new Error('boom')
    }
    const routed = await planEvent(ev({ type: 'track', userId: 'u1', event: 'Used' }), { subscriptions, accounts, route: boom })
    expect(routed).toEqual({ kind: 'reject', reason: 'routing failed: boom', links: [] })
    // The FQL reads `event`; linksFrom and the fill do not.
    const poison = Object.defineProperty(ev({ type: 'track', userId: 'u1', properties: { account_id: 'a1' } }), 'event', { get: boom, enumerable: true })
    const matched = await planEvent(poison, { subscriptions, accounts })
    expect(matched).toEqual({ kind: 'reject', reason: 'subscription matching failed: boom', links: [{ userKey: 'u1', accountId: 'a1' }] })
  })

  it('the event tester reports a reject as the reason nothing would be sent', async () => {
    const result = await dryRun(
      { type: 'track', userId: 'u1', event: 'Used' },
      { runtime: { destination: null as never, subscriptions, route: () => { throw new Error('boom') } }, store: accounts, csb: undefined, send: false }
    )
    expect(result).toEqual({ deliver: false, skipReason: 'routing failed: boom', filledAccount: null, csbConfigured: false, sent: false, matches: [] })
  })
})
