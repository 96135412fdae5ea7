import { describe, expect, it } from 'vitest'
import { compileFql } from './fql'

const event = {
  type: 'track',
  event: 'Order Completed',
  name: undefined,
  userId: 'u-1',
  properties: { plan: 'pro', total: 120, count: '7', vip: true, trial: false, items: [{ sku: 'a' }], address: { city: 'Berlin' } },
  traits: undefined,
  context: { traits: { email: 'ann@acme.test' }, library: { name: 'analytics-node' } }
}

const cases: Array<[string, boolean]> = [
  ['type = "track"', true],
  ['type != "track"', false],
  ['event = "Order Completed"', true],
  ['properties.plan = "pro"', true],
  ['properties.plan != "free"', true],
  ['properties.missing != "free"', true],
  ['properties.total = 120', true],
  ['properties.total = "120"', false],
  ['properties.count = 7', false],
  ['properties.total != 100', true],
  ['properties.missing != 100', false],
  ['properties.total > 100', true],
  ['properties.total >= 120', true],
  ['properties.total < 120', false],
  ['properties.total <= 120', true],
  ['properties.count > 1', false],
  ['properties.vip = true', true],
  ['properties.trial = false', true],
  ['properties.plan = true', false],
  ['properties.plan != null', true],
  ['properties.missing = null', true],
  ['properties.address.city = "Berlin"', true],
  ['context.traits.email != null', true],
  ['traits.email != null', false],
  ['context.library.name = "analytics-node"', true],
  ['contains(context.traits.email, "@acme.test")', true],
  ['!contains(context.traits.email, "@acme.test")', false],
  ['contains(event, "Order")', true],
  ['match(event, "Order*")', true],
  ['match(event, "*Completed")', true],
  ['!match(event, "Test*")', true],
  ['userId = "u-1"', true],
  ['userId != null', true],
  ['name = null', true],
  ['type = "track" and properties.total > 100', true],
  ['type = "identify" or properties.total > 100', true],
  ['type = "identify" and properties.total > 100', false],
  ['(type = "identify" or type = "track") and properties.plan = "pro"', true],
  ['properties.plan = "free" or (type = "track" and properties.vip = true)', true]
]

describe('FQL as the destination-subscriptions engine evaluates it', () => {
  it.each(cases)('%s → %s', (fql, expected) => {
    expect(compileFql(fql)(event)).toBe(expected)
  })
})
