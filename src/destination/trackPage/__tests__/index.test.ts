import { PayloadValidationError } from '@segment/actions-core'
import { reportedError, runAction } from '../../__tests__/__helpers__/helpers'
import { useFakeCsb } from '../../__tests__/__helpers__/fake-csb'

const csb = useFakeCsb()

const TIMESTAMP = '2024-01-08T10:00:00.000Z'

describe('trackPage', () => {
  it('sends the flat snake_case page body, page fields from context.page when properties lack them', async () => {
    const request = await runAction(csb, 'trackPage', {
      type: 'page',
      name: 'Pricing',
      userId: 'u1',
      timestamp: TIMESTAMP,
      properties: { account_id: 77, plan: { tier: 'pro' }, search: '?a=1' },
      context: {
        page: { url: 'https://x.io/pricing?a=1', path: '/pricing', title: 'Pricing', referrer: 'https://google.com' }
      }
    })
    expect(request.path).toBe('/api_js/v1_1/page')
    expect(request.body).toStrictEqual({
      type: 'page',
      account_id: '77',
      user_id: 'u1',
      name: 'Pricing',
      url: 'https://x.io/pricing?a=1',
      path: '/pricing',
      title: 'Pricing',
      referrer: 'https://google.com',
      timestamp: TIMESTAMP,
      plan_tier: 'pro',
      search: '?a=1'
    })
  })

  it('prefers properties over context.page and does not repeat ids or page fields', async () => {
    const request = await runAction(csb, 'trackPage', {
      type: 'page',
      name: 'orders',
      userId: 'seg',
      timestamp: TIMESTAMP,
      properties: { account_id: 'a', user_id: 'john', title: 'My Orders', url: 'https://app/orders', name: 'orders' },
      context: { page: { url: 'https://other', title: 'Other', path: '/orders' } }
    })
    expect(request.body).toStrictEqual({
      type: 'page',
      account_id: 'a',
      user_id: 'john',
      name: 'orders',
      url: 'https://app/orders',
      path: '/orders',
      title: 'My Orders',
      timestamp: TIMESTAMP
    })
  })

  it('handles a screen call when a user subscribes it (mobile has no page counterpart)', async () => {
    const request = await runAction(csb, 'trackPage', {
      type: 'screen',
      name: 'Home',
      userId: 'u1',
      timestamp: TIMESTAMP,
      properties: { account_id: 'a1' },
      context: { app: { name: 'Acme iOS' } }
    })
    expect(request.path).toBe('/api_js/v1_1/page')
    expect(request.body).toStrictEqual({
      type: 'page',
      account_id: 'a1',
      user_id: 'u1',
      name: 'Home',
      timestamp: TIMESTAMP
    })
  })

  it('names each missing id and where it looked', async () => {
    const noAccount = await reportedError('trackPage', { type: 'page', userId: 'u', properties: {} })
    expect(noAccount).toBeInstanceOf(PayloadValidationError)
    expect(noAccount.message).toBe(
      'account_id is missing or empty: looked in properties.account_id; set properties.account_id in the page call, or remap the account_id field'
    )
    const noUser = await reportedError('trackPage', { type: 'page', userId: null, properties: { account_id: 'a' } })
    expect(noUser.message).toBe(
      'user_id is missing or empty: looked in properties.user_id, userId; set properties.user_id or userId in the page call, or remap the user_id field'
    )
  })
})
