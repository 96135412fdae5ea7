import { describe, expect, it } from 'vitest'
import csbDestination from '../destination'
import type { SegmentEvent } from '../store/types'
import { junkIdProblem, junkIdsNoted } from './junk-ids'
import { planEvent } from './plan'
import { compileSubscriptions, defaultSubscriptions } from './subscriptions'

const presets = compileSubscriptions(defaultSubscriptions(csbDestination), csbDestination)
const noAccounts = { accountsFor: async () => new Map<string, string>() }

/** An event as ingest stores it: junk removed, what was sent kept in context.csbRelay.junkIds. */
const stored = (fields: Record<string, unknown>, junkIds?: Record<string, string>) =>
  ({ messageId: 'm', timestamp: '2024-05-01T12:00:00.000Z', ...fields, ...(junkIds ? { context: { csbRelay: { junkIds } } } : {}) }) as unknown as SegmentEvent

describe('junk ids at delivery', () => {
  it('dead-letter an identify left without a user id, naming the junk value', async () => {
    const event = stored({ type: 'identify', anonymousId: 'a-1', traits: { account_id: 'acc-1' } }, { userId: 'undefined' })
    const plan = await planEvent(event, { subscriptions: presets, accounts: noAccounts })
    expect(plan.kind).toBe('reject')
    expect(plan.kind === 'reject' && plan.reason).toBe(
      'user_id has no usable id (identifyUser, subscription "Identify Calls"): userId was "undefined", what a client sends when it has no id, ' +
        'counted as absent (context.csbRelay.junkIds); traits.user_id is absent. Fix the sender to send the real id'
    )
  })

  it('name every junk value a field looked at, and the account id of a group', async () => {
    const both = stored({ type: 'track', event: 'Clicked', properties: { account_id: 'acc-1' } }, { userId: 'null', 'properties.user_id': '[object Object]' })
    expect(junkIdProblem(both, presets.filter((s) => s.partnerAction === 'trackFeature'))).toContain(
      'user_id has no usable id (trackFeature, subscription "Track Calls"): properties.user_id was "[object Object]", userId was "null",'
    )
    const group = stored({ type: 'group', userId: 'u-1', traits: {} }, { groupId: 'NaN' })
    expect(junkIdProblem(group, presets.filter((s) => s.partnerAction === 'upsertAccount'))).toMatch(/^account_id has no usable id .*groupId was "NaN"/)
  })

  it('let the event run when another source of the field has a value, or the identity map fills it', async () => {
    const fallback = stored({ type: 'identify', userId: 'u-1', traits: { account_id: 'acc-1' } }, { 'traits.user_id': 'null' })
    expect((await planEvent(fallback, { subscriptions: presets, accounts: noAccounts })).kind).toBe('run')

    const accountless = stored({ type: 'track', event: 'Clicked', userId: 'u-1', properties: {} }, { 'properties.account_id': 'undefined' })
    const known = { accountsFor: async () => new Map([['u-1', 'acc-9']]) }
    const plan = await planEvent(accountless, { subscriptions: presets, accounts: known })
    expect(plan.kind).toBe('run')
    expect(plan.kind === 'run' && plan.event.properties).toEqual({ account_id: 'acc-9' })
  })

  it('leave alone junk no field of the subscriptions reads, and events without notes', async () => {
    const anonymousJunk = stored({ type: 'identify', userId: 'u-1', traits: { account_id: 'acc-1' } }, { anonymousId: 'undefined' })
    expect((await planEvent(anonymousJunk, { subscriptions: presets, accounts: noAccounts })).kind).toBe('run')
    expect(junkIdProblem(stored({ type: 'identify', traits: {} }), presets)).toBeUndefined()
  })

  it('read only string values from the notes', () => {
    expect(junkIdsNoted(stored({ type: 'identify' }, { userId: 'null' }))).toEqual({ userId: 'null' })
    expect(junkIdsNoted({ type: 'identify', context: { csbRelay: { junkIds: { userId: 5 } } } } as unknown as SegmentEvent)).toBeUndefined()
    expect(junkIdsNoted({ type: 'identify', context: { csbRelay: 'x' } } as unknown as SegmentEvent)).toBeUndefined()
  })
})
