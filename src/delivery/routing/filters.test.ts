import { describe, expect, it } from 'vitest'
import { createRouter } from '.'
import type { SegmentEvent } from '../../store/types'

function identify(traits: Record<string, unknown>, extra: Record<string, unknown> = {}): SegmentEvent {
  return { type: 'identify', messageId: 'm-i', userId: 'u-1', traits, ...extra }
}

function track(event: string, properties: Record<string, unknown>, extra: Record<string, unknown> = {}): SegmentEvent {
  return { type: 'track', messageId: 'm-t', userId: 'u-1', event, properties, ...extra }
}

function deliveredEvent(result: ReturnType<ReturnType<typeof createRouter>['route']>): SegmentEvent {
  if (!result.deliver) throw new Error(`expected delivery, got skip: ${result.reason}`)
  return result.event
}

/** A deep copy to compare the input with after routing. */
const snapshot = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

describe('drop', () => {
  const router = createRouter([{ name: 'no internal', drop: 'properties.internal = true' }])

  it('skips matching events with a reason naming the filter', () => {
    expect(router.route(track('Signed Up', { internal: true }))).toEqual({ deliver: false, reason: 'filter "no internal" (#1) dropped the event' })
  })

  it('delivers events that do not match, unchanged and by reference', () => {
    const event = track('Signed Up', { internal: false })
    expect(deliveredEvent(router.route(event))).toBe(event)
    expect(deliveredEvent(router.route(track('Signed Up', {})))).toBeDefined()
    expect(deliveredEvent(router.route(track('Signed Up', { internal: 'true' })))).toBeDefined()
  })

  it('matches nested paths', () => {
    const nested = createRouter([{ drop: 'properties.account.plan = "free" and context.traits.role != null' }])
    expect(nested.route(track('X', { account: { plan: 'free' } }, { context: { traits: { role: 'admin' } } }))).toEqual({ deliver: false, reason: 'filter #1 dropped the event' })
    expect(nested.route(track('X', { account: { plan: 'free' } })).deliver).toBe(true)
    expect(nested.route(track('X', { account: 'free' }, { context: { traits: { role: 'admin' } } })).deliver).toBe(true)
  })

  it('supports the functions and comparisons of the FQL engine', () => {
    const r = createRouter([
      { drop: 'contains(traits.email, "@acme.test")' },
      { drop: 'match(event, "Test *")' },
      { drop: 'properties.total > 1000' },
      { drop: 'userId = null' }
    ])
    expect(r.route(identify({ email: 'a@acme.test' }))).toEqual({ deliver: false, reason: 'filter #1 dropped the event' })
    expect(r.route(track('Test Order', {}))).toEqual({ deliver: false, reason: 'filter #2 dropped the event' })
    expect(r.route(track('Order', { total: 5000 }))).toEqual({ deliver: false, reason: 'filter #3 dropped the event' })
    expect(r.route(track('Order', { total: '5000' })).deliver).toBe(true)
    expect(r.route({ type: 'track', messageId: 'm', anonymousId: 'a', event: 'Order' })).toEqual({ deliver: false, reason: 'filter #4 dropped the event' })
    expect(r.route(track('Order', { total: 10 })).deliver).toBe(true)
  })
})

describe('keep', () => {
  const router = createRouter([{ name: 'tracks and identifies', keep: 'type = "track" or type = "identify"' }])

  it('delivers matching events and skips the rest with the reason', () => {
    expect(router.route(track('A', {})).deliver).toBe(true)
    expect(router.route(identify({})).deliver).toBe(true)
    expect(router.route({ type: 'page', messageId: 'm-p', userId: 'u-1', name: 'Home' })).toEqual({
      deliver: false,
      reason: 'filter "tracks and identifies" (#1) did not keep the event: it does not match type = "track" or type = "identify"'
    })
  })

  it('evaluates one level of parentheses', () => {
    const r = createRouter([{ keep: 'type = "identify" or (type = "track" and properties.plan = "pro")' }])
    expect(r.route(track('A', { plan: 'pro' })).deliver).toBe(true)
    expect(r.route(track('A', { plan: 'free' })).deliver).toBe(false)
    expect(r.route(identify({})).deliver).toBe(true)
  })
})

describe('block', () => {
  const router = createRouter([{ name: 'no PII', block: ['traits.email', 'traits.phone', 'context.traits.phone', 'properties.address.city'] }])

  it('removes listed traits and nested properties, leaving everything else', () => {
    const event = identify({ email: 'a@b.test', phone: '+1', name: 'Ann' }, { context: { traits: { phone: '+2', role: 'x' }, ip: '1.2.3.4' } })
    expect(deliveredEvent(router.route(event))).toEqual({
      type: 'identify',
      messageId: 'm-i',
      userId: 'u-1',
      traits: { name: 'Ann' },
      context: { traits: { role: 'x' }, ip: '1.2.3.4' }
    })
    const order = track('Order', { address: { city: 'Berlin', country: 'DE' }, total: 3 })
    expect(deliveredEvent(router.route(order)).properties).toEqual({ address: { country: 'DE' }, total: 3 })
  })

  it('does nothing (same reference) when the paths are missing', () => {
    const event = track('Order', { address: 'Main St 1', total: 3 })
    expect(deliveredEvent(router.route(event))).toBe(event)
    const bare: SegmentEvent = { type: 'alias', messageId: 'm', userId: 'u', previousId: 'p' }
    expect(deliveredEvent(router.route(bare))).toBe(bare)
  })

  it('applies to every element of an array on the way', () => {
    const r = createRouter([{ block: ['properties.products.sku', 'properties.contacts.email'] }])
    const event = track('Order', { products: [{ sku: 'a', price: 1 }, { price: 2 }, 'plain'], contacts: [[{ email: 'x', id: 1 }]] })
    expect(deliveredEvent(r.route(event)).properties).toEqual({ products: [{ price: 1 }, { price: 2 }, 'plain'], contacts: [[{ id: 1 }]] })
  })

  it('removes a whole nested object when its path is listed, and arrays as values', () => {
    const r = createRouter([{ block: ['traits.address', 'traits.address.city', 'properties.tags'] }])
    expect(deliveredEvent(r.route(identify({ address: { city: 'B' }, name: 'n' }))).traits).toEqual({ name: 'n' })
    expect(deliveredEvent(r.route(track('A', { tags: ['x', 'y'], keep: 1 }))).properties).toEqual({ keep: 1 })
  })

  it('applies only when its "if" condition matches', () => {
    const r = createRouter([{ block: ['properties.email'], if: 'event = "Lead Captured"' }])
    expect(deliveredEvent(r.route(track('Lead Captured', { email: 'e', a: 1 }))).properties).toEqual({ a: 1 })
    expect(deliveredEvent(r.route(track('Order', { email: 'e', a: 1 }))).properties).toEqual({ email: 'e', a: 1 })
  })
})

describe('allow', () => {
  it('keeps only the listed keys of each object it names, leaving other objects alone', () => {
    const r = createRouter([{ name: 'plan only', allow: ['properties.plan', 'properties.account_id', 'properties.address.country'] }])
    const event = track('Upgraded', { plan: 'pro', account_id: 'a-1', email: 'e', address: { country: 'DE', city: 'B' } }, { context: { traits: { email: 'e' } } })
    const out = deliveredEvent(r.route(event))
    expect(out.properties).toEqual({ plan: 'pro', account_id: 'a-1', address: { country: 'DE' } })
    expect(out.context).toBe(event.context)
    const identified = identify({ email: 'e' })
    expect(deliveredEvent(r.route(identified))).toBe(identified)
  })

  it('reduces traits and context.traits separately', () => {
    const r = createRouter([{ allow: ['traits.name', 'context.traits.account_id'] }])
    const out = deliveredEvent(r.route(identify({ name: 'Ann', email: 'e' }, { context: { traits: { account_id: 'a', phone: 'p' }, ip: '1' } })))
    expect(out.traits).toEqual({ name: 'Ann' })
    expect(out.context).toEqual({ traits: { account_id: 'a' }, ip: '1' })
  })

  it('reduces each element of an array and drops values a deeper path cannot reach', () => {
    const r = createRouter([{ allow: ['properties.products.sku', 'properties.address.city'] }])
    const out = deliveredEvent(r.route(track('Order', { products: [{ sku: 'a', price: 1 }, 'x', { price: 2 }], address: 'Main St', total: 3 })))
    expect(out.properties).toEqual({ products: [{ sku: 'a' }, {}] })
  })

  it('returns the same event when nothing but the listed keys is there', () => {
    const r = createRouter([{ allow: ['properties.plan'] }])
    const event = track('A', { plan: 'pro' })
    expect(deliveredEvent(r.route(event))).toBe(event)
  })
})

describe('order of filters', () => {
  it('applies rules in config order: a block before a drop hides the blocked field from the drop', () => {
    const blockThenDrop = createRouter([{ block: ['traits.email'] }, { drop: 'traits.email != null' }])
    const dropThenBlock = createRouter([{ drop: 'traits.email != null' }, { block: ['traits.email'] }])
    const event = identify({ email: 'a@b.test', name: 'Ann' })
    expect(deliveredEvent(blockThenDrop.route(event)).traits).toEqual({ name: 'Ann' })
    expect(dropThenBlock.route(event)).toEqual({ deliver: false, reason: 'filter #1 dropped the event' })
  })

  it('stops at the first rule that skips and names it', () => {
    const r = createRouter([
      { name: 'tracks only', keep: 'type = "track"' },
      { name: 'no tests', drop: 'match(event, "Test*")' },
      { block: ['properties.email'] }
    ])
    expect(r.route(identify({}))).toMatchObject({ deliver: false, reason: expect.stringContaining('filter "tracks only" (#1)') })
    expect(r.route(track('Test run', { email: 'e' }))).toEqual({ deliver: false, reason: 'filter "no tests" (#2) dropped the event' })
    expect(deliveredEvent(r.route(track('Order', { email: 'e', a: 1 }))).properties).toEqual({ a: 1 })
  })

  it('checks the integrations object before any filter', () => {
    const r = createRouter([{ drop: 'type = "track"' }])
    expect(r.route(track('A', {}, { integrations: { CustomerSuccessBox: false } }))).toEqual({ deliver: false, reason: 'integrations.CustomerSuccessBox is false' })
  })

  it('an allow after a block, and a keep that sees the edited event', () => {
    const r = createRouter([{ allow: ['properties.plan', 'properties.internal'] }, { block: ['properties.internal'] }, { keep: 'properties.internal = null' }])
    expect(deliveredEvent(r.route(track('A', { plan: 'p', internal: true, email: 'e' }))).properties).toEqual({ plan: 'p' })
  })
})

describe('no mutation of the input', () => {
  it('leaves the input event, its nested objects and arrays untouched', () => {
    const r = createRouter([
      { block: ['traits.email', 'context.traits.phone', 'properties.products.sku'] },
      { allow: ['properties.products.sku', 'properties.products.price', 'properties.plan'] }
    ])
    const event = identify({ email: 'e', name: 'n' }, { context: { traits: { phone: 'p' } }, properties: { products: [{ sku: 's', price: 1, x: 2 }], plan: 'pro', y: 1 } })
    const before = snapshot(event)
    const products = (event.properties as { products: unknown[] }).products
    const out = deliveredEvent(r.route(event))
    expect(event).toEqual(before)
    expect((event.properties as { products: unknown[] }).products).toBe(products)
    expect(out).not.toBe(event)
    expect(out.traits).toEqual({ name: 'n' })
    expect(out.context).toEqual({ traits: {} })
    expect(out.properties).toEqual({ products: [{ price: 1 }], plan: 'pro' })
  })

  it('routing the same event twice gives the same answer', () => {
    const r = createRouter([{ block: ['traits.email'] }])
    const event = identify({ email: 'e', name: 'n' })
    expect(r.route(event)).toEqual(r.route(event))
  })
})

describe('summary', () => {
  it('lists the filters in force, one line each', () => {
    const r = createRouter([{ name: 'no internal', drop: 'properties.internal = true' }, { block: ['traits.email'], if: 'type = "identify"' }])
    expect(r.summary).toEqual(['#1 "no internal": drop properties.internal = true', '#2: block traits.email if type = "identify"'])
    expect(createRouter(undefined).summary).toEqual([])
    expect(createRouter([]).summary).toEqual([])
  })
})
