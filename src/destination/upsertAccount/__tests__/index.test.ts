import { PayloadValidationError } from '@segment/actions-core'
import { reportedError, runAction } from '../../__tests__/__helpers__/helpers'
import { useFakeCsb } from '../../__tests__/__helpers__/fake-csb'

const csb = useFakeCsb()

describe('upsertAccount', () => {
  it('sends account_id and every trait, flattened, to /api/v1_1/account', async () => {
    const request = await runAction(csb, 'upsertAccount', {
      type: 'group',
      groupId: 'g-1',
      traits: { account_id: 'acc-1', name: 'ABC Group', billing: { city: 'Pune', postal_code: '411001' }, seats: 25 }
    })
    expect(request.path).toBe('/api/v1_1/account')
    expect(request.body).toStrictEqual({
      account_id: 'acc-1',
      name: 'ABC Group',
      billing_city: 'Pune',
      billing_postal_code: '411001',
      seats: 25
    })
  })

  it('falls back to the groupId, sent as a string', async () => {
    const request = await runAction(csb, 'upsertAccount', {
      type: 'group',
      groupId: 987 as unknown as string,
      traits: { name: 'Acme' }
    })
    expect(request.body).toStrictEqual({ account_id: '987', name: 'Acme' })
  })

  it('prefixes non-standard account keys when prefixCustomTraits is on', async () => {
    const request = await runAction(
      csb,
      'upsertAccount',
      {
        type: 'group',
        groupId: 'g',
        traits: { name: 'Acme', sales_manager: 'Ann', billing: { city: 'X' }, tier: 'gold' }
      },
      { settings: { prefixCustomTraits: true } }
    )
    expect(request.body).toStrictEqual({
      account_id: 'g',
      name: 'Acme',
      sales_manager: 'Ann',
      billing_city: 'X',
      custom_tier: 'gold'
    })
  })

  it('names the missing account_id and both places it looked', async () => {
    const error = await reportedError('upsertAccount', { type: 'group', groupId: null, traits: { name: 'Acme' } })
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.message).toBe(
      'account_id is missing or empty: looked in traits.account_id, groupId; set traits.account_id or groupId in the group call, or remap the account_id field'
    )
  })
})
