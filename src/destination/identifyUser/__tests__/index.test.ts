import { PayloadValidationError } from '@segment/actions-core'
import { actionError, reportedError, runAction } from '../../__tests__/__helpers__/helpers'
import { useFakeCsb } from '../../__tests__/__helpers__/fake-csb'

const csb = useFakeCsb()

describe('identifyUser', () => {
  it('sends ids and every trait as top-level keys to /api/v1_1/user, flattening nested objects', async () => {
    const request = await runAction(csb, 'identifyUser', {
      type: 'identify',
      userId: 'segment-user',
      traits: {
        account_id: 'acc-1',
        user_id: 'john@acme.com',
        first_name: 'John',
        email: 'john@acme.com',
        plan: 'pro',
        address: { city: 'Pune', country: 'IN' }
      }
    })
    expect(request.path).toBe('/api/v1_1/user')
    expect(request.body).toStrictEqual({
      account_id: 'acc-1',
      user_id: 'john@acme.com',
      first_name: 'John',
      email: 'john@acme.com',
      plan: 'pro',
      address_city: 'Pune',
      address_country: 'IN'
    })
  })

  it('falls back to the Segment userId and sends numeric ids as strings', async () => {
    const request = await runAction(csb, 'identifyUser', {
      type: 'identify',
      userId: '42',
      traits: { account_id: 12345678 }
    })
    expect(request.body).toStrictEqual({ account_id: '12345678', user_id: '42' })
  })

  it('prefixes non-standard keys with custom_ when prefixCustomTraits is on', async () => {
    const request = await runAction(
      csb,
      'identifyUser',
      {
        type: 'identify',
        userId: 'u1',
        traits: { account_id: 'a1', email: 'e@x.io', role: 'admin', plan: 'pro', address: { city: 'X' } }
      },
      { settings: { prefixCustomTraits: true } }
    )
    expect(request.body).toStrictEqual({
      account_id: 'a1',
      user_id: 'u1',
      email: 'e@x.io',
      role: 'admin',
      custom_plan: 'pro',
      custom_address_city: 'X'
    })
  })

  it('can be remapped without code', async () => {
    const request = await runAction(
      csb,
      'identifyUser',
      { type: 'identify', userId: 'u1', traits: { company: { id: 'c9' } } },
      { mapping: { account_id: { '@path': '$.traits.company.id' } } }
    )
    expect(request.body).toStrictEqual({ account_id: 'c9', user_id: 'u1', company_id: 'c9' })
  })

  it('is refused by actions-core before perform when a required id is missing (Segment shows this message)', async () => {
    const error = await actionError('identifyUser', { type: 'identify', userId: null, traits: { email: 'e@x.io' } })
    expect(error.name).toBe('AggregateAjvError')
    expect(error.message).toBe(
      "The root value is missing the required field 'account_id'. The root value is missing the required field 'user_id'."
    )
  })

  it('reports every missing id with where it looked, in field order', async () => {
    const error = await reportedError('identifyUser', { type: 'identify', userId: null, traits: { email: 'e@x.io' } })
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.message).toBe(
      'account_id is missing or empty: looked in traits.account_id; set traits.account_id in the identify call, or remap the account_id field; ' +
        'user_id is missing or empty: looked in traits.user_id, userId; set traits.user_id or userId in the identify call, or remap the user_id field'
    )
  })

  it('refuses a blank id at run time with the same message', async () => {
    const error = await actionError('identifyUser', { type: 'identify', userId: 'u1', traits: { account_id: '   ' } })
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.message).toBe(
      'account_id is missing or empty: looked in traits.account_id; set traits.account_id in the identify call, or remap the account_id field'
    )
  })

  it('names the missing account_id and where it looked', async () => {
    const error = await reportedError('identifyUser', { type: 'identify', userId: 'u1', traits: { email: 'e@x.io' } })
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.status).toBe(400)
    expect(error.message).toBe(
      'account_id is missing or empty: looked in traits.account_id; set traits.account_id in the identify call, or remap the account_id field'
    )
  })

  it('names the missing user_id and both places it looked', async () => {
    const error = await reportedError('identifyUser', {
      type: 'identify',
      userId: null,
      anonymousId: 'anon',
      traits: { account_id: 'a1' }
    })
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.message).toBe(
      'user_id is missing or empty: looked in traits.user_id, userId; set traits.user_id or userId in the identify call, or remap the user_id field'
    )
  })

  it('names the remapped path when a remapped id is missing', async () => {
    const error = await reportedError(
      'identifyUser',
      { type: 'identify', userId: 'u1', traits: {} },
      { mapping: { account_id: { '@path': '$.context.groupId' } } }
    )
    expect(error.message).toBe(
      'account_id is missing or empty: looked in context.groupId; set context.groupId in the identify call, or remap the account_id field'
    )
  })
})
