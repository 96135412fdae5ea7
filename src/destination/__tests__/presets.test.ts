import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import { parseFql, validate } from '@segment/destination-subscriptions'
import destination from '..'
import { useFakeCsb } from './__helpers__/fake-csb'
import { onEventSettings, presetSubscriptions } from './__helpers__/helpers'
import { engageIdentify, engageTrack, seed } from './__helpers__/seed'

const csb = useFakeCsb()

function settings() {
  return { ...onEventSettings(csb.url), apiKey: csb.apiKey }
}

describe('presets', () => {
  const cases: Array<[string, SegmentEvent, string[]]> = [
    ['identify', seed.identify, ['identifyUser']],
    ['group', seed.group, ['upsertAccount']],
    ['track', seed.track, ['trackFeature']],
    ['page', seed.page, ['trackPage']],
    ['audience identify', engageIdentify, ['syncAudience']],
    ['Audience Entered', engageTrack('Audience Entered', true), ['syncAudience']],
    ['Audience Exited', engageTrack('Audience Exited', false), ['syncAudience']],
    ['User Login', { ...seed.track, event: 'User Login' }, ['trackFeature']],
    [
      'computed-trait identify',
      { ...seed.identify, context: { personas: { computation_class: 'trait' } } },
      ['identifyUser']
    ],
    ['alias', { type: 'alias', userId: 'u1', previousId: 'u0' }, []],
    ['screen', { type: 'screen', userId: 'u1', name: 'Home' }, []]
  ]

  it('are automatic, one per action, with the action default mapping', () => {
    expect(destination.presets?.map((p) => p.partnerAction)).toStrictEqual([
      'identifyUser',
      'upsertAccount',
      'trackFeature',
      'trackPage',
      'syncAudience'
    ])
    for (const preset of destination.presets ?? []) {
      expect(preset.type).toBe('automatic')
      expect(Object.keys(preset.mapping ?? {})).toStrictEqual(
        Object.keys(destination.actions[preset.partnerAction].fields)
      )
    }
  })

  for (const [name, event, actions] of cases) {
    it(`match a ${name} call with ${actions.length ? actions.join(', ') : 'no action'} only (FQL)`, () => {
      const matching = presetSubscriptions().filter((s) => {
        const parsed = parseFql(s.subscribe as string)
        if ('error' in parsed) throw parsed.error
        return validate(parsed, event)
      })
      expect(matching.map((s) => s.partnerAction)).toStrictEqual(actions)
    })
  }

  it('send an Engage audience identify once, to /user, and not as a plain identify', async () => {
    await new Destination(destination).onEvent(engageIdentify, settings())
    expect(csb.requests().map((r) => [r.path, r.body])).toStrictEqual([
      ['/api/v1_1/user', { account_id: 'a1', user_id: 'u1', order_completed_last_30days: true }]
    ])
  })

  it('send Audience Entered / Exited once each, not as feature events', async () => {
    await new Destination(destination).onEvent(engageTrack('Audience Entered', true), settings())
    await new Destination(destination).onEvent(engageTrack('Audience Exited', false), settings())
    expect(csb.requests().map((r) => [r.path, r.body])).toStrictEqual([
      ['/api/v1_1/user', { account_id: 'a1', user_id: 'u1', order_completed_last_30days: true }],
      ['/api/v1_1/user', { account_id: 'a1', user_id: 'u1', order_completed_last_30days: false }]
    ])
  })
})
