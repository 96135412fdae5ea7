/**
 * The four example calls on CustomerSuccessBox's Segment destination page, as the browser
 * library sends them, and the CSB request each must become.
 */
import type { SegmentEvent } from '@segment/actions-core'

export const TIMESTAMP = '2024-01-08T10:00:00.000Z'

export type SeedCall = 'identify' | 'track' | 'group' | 'page'

export const seed: Record<SeedCall, SegmentEvent> = {
  identify: {
    type: 'identify',
    userId: 'userID123',
    traits: { account_id: '12345678', user_id: 'john.doe@company.com' },
    timestamp: TIMESTAMP,
    messageId: 'm-identify'
  },
  track: {
    type: 'track',
    event: 'Order Received',
    userId: 'userID123',
    properties: { cost: '$120.00', account_id: '12345678', user_id: 'john.doe@company.com' },
    timestamp: TIMESTAMP,
    messageId: 'm-track'
  },
  group: {
    type: 'group',
    userId: 'userID123',
    groupId: 'accountId123',
    traits: { account_id: '12345678', name: 'ABC Group' },
    timestamp: TIMESTAMP,
    messageId: 'm-group'
  },
  page: {
    type: 'page',
    name: 'orders',
    userId: 'userID123',
    properties: {
      name: 'orders',
      title: 'My Orders',
      url: 'https://app.example.com/orders',
      path: '/orders',
      referrer: 'https://app.example.com/',
      account_id: '12345678',
      user_id: 'john.doe@company.com'
    },
    timestamp: TIMESTAMP,
    messageId: 'm-page'
  }
}

export const expected: Record<SeedCall, { path: string; body: Record<string, unknown> }> = {
  identify: { path: '/api/v1_1/user', body: { account_id: '12345678', user_id: 'john.doe@company.com' } },
  track: {
    path: '/api/v1_1/feature',
    body: {
      account_id: '12345678',
      user_id: 'john.doe@company.com',
      product_id: 'Default Product',
      module_id: 'Default Module',
      feature_id: 'Order Received',
      total: 1,
      type: 'feature',
      timestamp: TIMESTAMP
    }
  },
  group: { path: '/api/v1_1/account', body: { account_id: '12345678', name: 'ABC Group' } },
  page: {
    path: '/api_js/v1_1/page',
    body: {
      type: 'page',
      account_id: '12345678',
      user_id: 'john.doe@company.com',
      name: 'orders',
      url: 'https://app.example.com/orders',
      path: '/orders',
      title: 'My Orders',
      referrer: 'https://app.example.com/',
      timestamp: TIMESTAMP
    }
  }
}

/** An Engage audience identify and Audience Entered / Exited tracks for one audience. */
export const AUDIENCE_KEY = 'order_completed_last_30days'
const personas = { computation_class: 'audience', computation_key: AUDIENCE_KEY }

export const engageIdentify: SegmentEvent = {
  type: 'identify',
  userId: 'u1',
  traits: { account_id: 'a1', [AUDIENCE_KEY]: true },
  context: { personas }
}

export function engageTrack(event: string, value: boolean): SegmentEvent {
  return {
    type: 'track',
    event,
    userId: 'u1',
    properties: { account_id: 'a1', audience_key: AUDIENCE_KEY, [AUDIENCE_KEY]: value },
    context: { personas }
  }
}
