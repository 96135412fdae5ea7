import { describe, expect, it } from 'vitest'
import { fillAccount, linksFrom, userKeysOf } from './identity'
import { planEvent } from './plan'
import type { IdentityLink, SegmentEvent } from '../store/types'

const ev = (e: Record<string, unknown>) => ({ messageId: 'm', ...e }) as SegmentEvent

function memoryMap() {
  const map = new Map<string, string>()
  return {
    map,
    async linkIdentities(links: IdentityLink[]) {
      for (const l of links) map.set(l.userKey, l.accountId)
    },
    async accountsFor(keys: string[]) {
      return new Map(keys.filter((k) => map.has(k)).map((k) => [k, map.get(k) as string]))
    }
  }
}

/** What delivery does with an attempted event: write the links it teaches, then fill its account. */
async function learnAndFill(event: SegmentEvent, store: ReturnType<typeof memoryMap>) {
  await store.linkIdentities(linksFrom(event))
  return fillAccount(event, store)
}

describe('identity map: what is learned', () => {
  it('identify: traits.account_id for traits.user_id and userId', () => {
    expect(linksFrom(ev({ type: 'identify', userId: 'u1', traits: { account_id: 'a1', user_id: 'john@x.com' } }))).toEqual([
      { userKey: 'john@x.com', accountId: 'a1' },
      { userKey: 'u1', accountId: 'a1' }
    ])
  })
  it('group: traits.account_id, else groupId, for userId', () => {
    expect(linksFrom(ev({ type: 'group', userId: 'u1', groupId: 'g1', traits: { account_id: 'a1' } }))).toEqual([{ userKey: 'u1', accountId: 'a1' }])
    expect(linksFrom(ev({ type: 'group', userId: 'u1', groupId: 'g1', traits: {} }))).toEqual([{ userKey: 'u1', accountId: 'g1' }])
  })
  it('track and page: properties.account_id; numbers become strings', () => {
    expect(linksFrom(ev({ type: 'track', userId: 'u1', event: 'X', properties: { account_id: 42 } }))).toEqual([{ userKey: 'u1', accountId: '42' }])
    expect(linksFrom(ev({ type: 'page', userId: 'u2', properties: { account_id: 'a2', user_id: 'c2' } }))).toHaveLength(2)
  })
  it('nothing without an account or a user; anonymousId is never a key', () => {
    expect(linksFrom(ev({ type: 'identify', userId: 'u1', traits: { name: 'x' } }))).toEqual([])
    expect(linksFrom(ev({ type: 'identify', anonymousId: 'anon', traits: { account_id: 'a1' } }))).toEqual([])
    expect(linksFrom(ev({ type: 'alias', userId: 'u1', previousId: 'p' }))).toEqual([])
  })
  it('looks users up by CSB user_id first, then userId', () => {
    expect(userKeysOf(ev({ type: 'identify', userId: 'u1', traits: { user_id: 'c1' } }))).toEqual(['c1', 'u1'])
  })
})

describe('identity map: fill', () => {
  it('fills traits.account_id into an Engage audience identify from an earlier identify; last write wins', async () => {
    const store = memoryMap()
    await learnAndFill(ev({ type: 'identify', userId: 'u1', traits: { account_id: 'a1' } }), store)
    await learnAndFill(ev({ type: 'group', userId: 'u1', groupId: 'a2', traits: {} }), store)
    const audience = ev({ type: 'identify', userId: 'u1', traits: { vip_users: true }, context: { personas: { computation_class: 'audience' } } })
    const out = await learnAndFill(audience, store)
    expect(out.filledAccount).toBe('a2')
    expect(out.event.traits).toEqual({ vip_users: true, account_id: 'a2' })
    expect(audience.traits).toEqual({ vip_users: true })
  })
  it('fills properties.account_id into track and page', async () => {
    const store = memoryMap()
    store.map.set('u1', 'a1')
    const out = await learnAndFill(ev({ type: 'track', userId: 'u1', event: 'Audience Entered', properties: { audience_key: 'k' } }), store)
    expect(out.event.properties).toEqual({ audience_key: 'k', account_id: 'a1' })
  })
  it('never overwrites an account the event carries', async () => {
    const store = memoryMap()
    store.map.set('u1', 'a1')
    const out = await fillAccount(ev({ type: 'track', userId: 'u1', event: 'X', properties: { account_id: 'mine' } }), store)
    expect(out.filledAccount).toBeNull()
    expect((out.event.properties as Record<string, unknown>).account_id).toBe('mine')
  })
  it('leaves the event unchanged when the account is unknown', async () => {
    const e = ev({ type: 'identify', userId: 'nobody', traits: {} })
    const out = await learnAndFill(e, memoryMap())
    expect(out).toEqual({ event: e, filledAccount: null })
  })
  it('planning learns nothing (the dry run plans): the links are returned for delivery to write', async () => {
    const store = memoryMap()
    const plan = await planEvent(ev({ type: 'identify', userId: 'u1', traits: { account_id: 'a1' } }), { subscriptions: [], accounts: store })
    expect(store.map.size).toBe(0)
    expect(plan.links).toEqual([{ userKey: 'u1', accountId: 'a1' }])
  })
})

describe('LinkCache', () => {
  it('writes a link once while it is unchanged, again when it changes or expires', async () => {
    const { LinkCache } = await import('./identity')
    const cache = new LinkCache(1000)
    const l = { userKey: 'u1', accountId: 'a1' }
    expect(cache.fresh([l], 0)).toEqual([l])
    expect(cache.fresh([l], 500)).toEqual([])
    expect(cache.fresh([{ userKey: 'u1', accountId: 'a2' }], 600)).toHaveLength(1)
    expect(cache.fresh([{ userKey: 'u1', accountId: 'a2' }], 1700)).toHaveLength(1)
  })
})
