import { Destination, PayloadValidationError } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import destination from '../..'
import { actionError, reportedError, onEventSettings, runAction } from '../../__tests__/__helpers__/helpers'
import { useFakeCsb } from '../../__tests__/__helpers__/fake-csb'

const csb = useFakeCsb()

const KEY = 'order_completed_last_30days'
const personas = { computation_class: 'audience', computation_key: KEY, computation_id: 'aud_1', namespace: 'spa_1' }

const audienceIdentify = (member: boolean): SegmentEvent => ({
  type: 'identify',
  userId: 'u1',
  traits: { account_id: 'a1', email: 'u1@x.io', [KEY]: member },
  context: { personas }
})
const audienceTrack = (event: string, member?: boolean): SegmentEvent => ({
  type: 'track',
  event,
  userId: 'u1',
  properties: { account_id: 'a1', audience_key: KEY, ...(member === undefined ? {} : { [KEY]: member }) },
  context: { personas }
})

async function sendThroughPresets(event: SegmentEvent, extra = {}) {
  await new Destination(destination).onEvent(event, { ...onEventSettings(csb.url, extra), apiKey: csb.apiKey })
  return csb.requests().map((r) => [r.path, r.body])
}

describe('syncAudience (Engage)', () => {
  it('an audience identify sets the user attribute true, then false', async () => {
    expect(await sendThroughPresets(audienceIdentify(true))).toStrictEqual([
      ['/api/v1_1/user', { account_id: 'a1', user_id: 'u1', [KEY]: true }]
    ])
    csb.clearRequests()
    expect(await sendThroughPresets(audienceIdentify(false))).toStrictEqual([
      ['/api/v1_1/user', { account_id: 'a1', user_id: 'u1', [KEY]: false }]
    ])
  })

  it('Audience Entered sets true and Audience Exited sets false', async () => {
    expect(await sendThroughPresets(audienceTrack('Audience Entered', true))).toStrictEqual([
      ['/api/v1_1/user', { account_id: 'a1', user_id: 'u1', [KEY]: true }]
    ])
    csb.clearRequests()
    expect(await sendThroughPresets(audienceTrack('Audience Exited', false))).toStrictEqual([
      ['/api/v1_1/user', { account_id: 'a1', user_id: 'u1', [KEY]: false }]
    ])
  })

  it('reads membership from the event name when the properties carry no flag', async () => {
    expect((await runAction(csb, 'syncAudience', audienceTrack('Audience Entered'))).body).toStrictEqual({
      account_id: 'a1',
      user_id: 'u1',
      [KEY]: true
    })
    expect((await runAction(csb, 'syncAudience', audienceTrack('Audience Exited'))).body).toStrictEqual({
      account_id: 'a1',
      user_id: 'u1',
      [KEY]: false
    })
  })

  it('prefixes the audience attribute with custom_ when prefixCustomTraits is on', async () => {
    expect(await sendThroughPresets(audienceIdentify(true), { prefixCustomTraits: true })).toStrictEqual([
      ['/api/v1_1/user', { account_id: 'a1', user_id: 'u1', [`custom_${KEY}`]: true }]
    ])
  })

  it('fails precisely when no membership can be found', async () => {
    const error = await actionError('syncAudience', {
      type: 'identify',
      userId: 'u1',
      traits: { account_id: 'a1' },
      context: { personas }
    })
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.message).toBe(
      `audience membership is missing: looked for a boolean at traits.${KEY} / properties.${KEY} and for the event "Audience Entered" / "Audience Exited"; send ${KEY}: true or false, or remap the membership_values field`
    )
  })

  it('names a missing account_id (Engage events often lack one) and a missing audience key', async () => {
    const noAccount = await reportedError('syncAudience', {
      type: 'identify',
      userId: 'u1',
      traits: { [KEY]: true },
      context: { personas }
    })
    expect(noAccount.message).toBe(
      'account_id is missing or empty: looked in traits.account_id, properties.account_id; set traits.account_id or properties.account_id in the identify or track call, or remap the account_id field'
    )
    const noKey = await reportedError('syncAudience', {
      type: 'identify',
      userId: 'u1',
      traits: { account_id: 'a', [KEY]: true },
      context: {}
    })
    expect(noKey.message).toBe(
      'audience_key is missing or empty: looked in context.personas.computation_key; set context.personas.computation_key in the identify or track call, or remap the audience_key field'
    )
  })
})
