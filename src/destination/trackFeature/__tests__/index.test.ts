import { createTestIntegration, Destination, PayloadValidationError } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import destination from '../..'
import {
  reportedError,
  onEventSettings,
  recordingLogger,
  runAction,
  settingsFor
} from '../../__tests__/__helpers__/helpers'
import { useFakeCsb } from '../../__tests__/__helpers__/fake-csb'

const csb = useFakeCsb()

const TIMESTAMP = '2024-01-08T10:00:00.000Z'
const track = (event: string, properties: Record<string, unknown> = {}): Partial<SegmentEvent> => ({
  type: 'track',
  event,
  userId: 'u1',
  timestamp: TIMESTAMP,
  properties: { account_id: 'a1', ...properties } as SegmentEvent['properties']
})

describe('trackFeature', () => {
  it('sends a feature event with product and module from the properties', async () => {
    const request = await runAction(
      csb,
      'trackFeature',
      track('Report Exported', { product_id: 'Analytics', module_id: 'Reports', total: 3 })
    )
    expect(request.path).toBe('/api/v1_1/feature')
    expect(request.body).toStrictEqual({
      account_id: 'a1',
      user_id: 'u1',
      product_id: 'Analytics',
      module_id: 'Reports',
      feature_id: 'Report Exported',
      total: 3,
      type: 'feature',
      timestamp: TIMESTAMP
    })
  })

  it('uses the defaultProductId / defaultModuleId settings when the track names none', async () => {
    const request = await runAction(csb, 'trackFeature', track('Clicked'), {
      settings: { defaultProductId: 'Web App', defaultModuleId: 'Core' }
    })
    expect(request.body).toMatchObject({ product_id: 'Web App', module_id: 'Core', total: 1 })
  })

  it('sends numeric ids as strings and the timestamp in UTC', async () => {
    const request = await runAction(csb, 'trackFeature', {
      ...track('Clicked', { account_id: 12345678, user_id: 99 }),
      timestamp: '2024-01-08T15:30:00+05:30'
    })
    expect(request.body).toMatchObject({ account_id: '12345678', user_id: '99', timestamp: TIMESTAMP })
  })

  it('takes total from an integer properties.total, else 1 with a warning', async () => {
    expect((await runAction(csb, 'trackFeature', track('A', { total: '5' }))).body).toMatchObject({ total: 5 })
    expect((await runAction(csb, 'trackFeature', track('A', { total: 0 }))).body).toMatchObject({ total: 0 })
    const logger = recordingLogger()
    expect((await runAction(csb, 'trackFeature', track('A', { total: 27.5 }), { logger })).body).toMatchObject({
      total: 1
    })
    expect(logger.warnings).toStrictEqual(['total 27.5 is not a whole number of 0 or more; sent total 1'])
  })

  it('refuses a total that is not a number at all with a 400 naming the field', async () => {
    const error = await new Destination(destination)
      .onEvent(track('A', { total: '$120.00' }) as SegmentEvent, { ...onEventSettings(csb.url), apiKey: csb.apiKey })
      .then(
        () => undefined,
        (e: Error & { status?: number }) => e
      )
    expect(error?.message).toBe('Total must be a number but it was a string.')
    expect(error?.status).toBe(400)
  })

  it('truncates feature, module and product names over 64 characters, with a warning for each', async () => {
    const long = (c: string) => c.repeat(70)
    const logger = recordingLogger()
    const request = await runAction(
      csb,
      'trackFeature',
      track(long('f'), { module_id: long('m'), product_id: long('p') }),
      { logger }
    )
    expect(request.body).toMatchObject({
      feature_id: 'f'.repeat(64),
      module_id: 'm'.repeat(64),
      product_id: 'p'.repeat(64)
    })
    expect(logger.warnings).toStrictEqual([
      `feature_id was 70 characters; CustomerSuccessBox keeps 64, so it was truncated to "${'f'.repeat(64)}"`,
      `module_id was 70 characters; CustomerSuccessBox keeps 64, so it was truncated to "${'m'.repeat(64)}"`,
      `product_id was 70 characters; CustomerSuccessBox keeps 64, so it was truncated to "${'p'.repeat(64)}"`
    ])
  })

  it('counts characters, not UTF-16 units, and never splits an emoji', async () => {
    const name = '😀'.repeat(65)
    const request = await runAction(csb, 'trackFeature', track(name))
    expect((request.body as { feature_id: string }).feature_id).toBe('😀'.repeat(64))
  })

  it('keeps a name of exactly 64 characters without a warning', async () => {
    const logger = recordingLogger()
    const request = await runAction(csb, 'trackFeature', track('x'.repeat(64)), { logger })
    expect(request.body).toMatchObject({ feature_id: 'x'.repeat(64) })
    expect(logger.warnings).toStrictEqual([])
  })

  it('returns the warnings in the action result, also without a logger', async () => {
    const test = createTestIntegration(destination)
    await test.testAction('trackFeature', {
      event: track('y'.repeat(65)),
      settings: { ...settingsFor(csb.url), apiKey: csb.apiKey },
      useDefaultMappings: true
    })
    const executed = test.results.find((r) => r.output === 'Action Executed')
    expect(executed?.data).toStrictEqual({
      endpoint: '/api/v1_1/feature',
      status: 200,
      response: { success: true },
      warnings: [
        `feature_id was 65 characters; CustomerSuccessBox keeps 64, so it was truncated to "${'y'.repeat(64)}"`
      ]
    })
  })

  it('sends "User Login" to /api/v1_1/login and "User Logout" to /api/v1_1/logout', async () => {
    const login = await runAction(csb, 'trackFeature', track('User Login', { product_id: 'ignored' }))
    expect(login.path).toBe('/api/v1_1/login')
    expect(login.body).toStrictEqual({
      account_id: 'a1',
      user_id: 'u1',
      type: 'track',
      event: 'User Login',
      timestamp: TIMESTAMP
    })
    const logout = await runAction(csb, 'trackFeature', track('User Logout'))
    expect(logout.path).toBe('/api/v1_1/logout')
    expect(logout.body).toStrictEqual({
      account_id: 'a1',
      user_id: 'u1',
      type: 'track',
      event: 'User Logout',
      timestamp: TIMESTAMP
    })
  })

  it('can send page calls as feature events by subscription and mapping alone', async () => {
    const request = await runAction(
      csb,
      'trackFeature',
      { type: 'page', name: 'Pricing', userId: 'u1', timestamp: TIMESTAMP, properties: { account_id: 'a1' } },
      { mapping: { feature_id: { '@path': '$.name' }, module_id: 'Pages' } }
    )
    expect(request.path).toBe('/api/v1_1/feature')
    expect(request.body).toStrictEqual({
      account_id: 'a1',
      user_id: 'u1',
      product_id: 'Default Product',
      module_id: 'Pages',
      feature_id: 'Pricing',
      total: 1,
      type: 'feature',
      timestamp: TIMESTAMP
    })
  })

  it('names each missing id and where it looked', async () => {
    const noAccount = await reportedError('trackFeature', { type: 'track', event: 'A', userId: 'u1', properties: {} })
    expect(noAccount).toBeInstanceOf(PayloadValidationError)
    expect(noAccount.message).toBe(
      'account_id is missing or empty: looked in properties.account_id; set properties.account_id in the track call, or remap the account_id field'
    )
    const noUser = await reportedError('trackFeature', {
      type: 'track',
      event: 'A',
      userId: null,
      properties: { account_id: 'a' }
    })
    expect(noUser.message).toBe(
      'user_id is missing or empty: looked in properties.user_id, userId; set properties.user_id or userId in the track call, or remap the user_id field'
    )
    const noFeature = await reportedError(
      'trackFeature',
      { type: 'track', event: 'A', userId: 'u', properties: { account_id: 'a' } },
      { mapping: { feature_id: { '@path': '$.properties.feature' } } }
    )
    expect(noFeature.message).toBe(
      'feature_id is missing or empty: looked in properties.feature; set properties.feature in the track call, or remap the feature_id field'
    )
  })
})
