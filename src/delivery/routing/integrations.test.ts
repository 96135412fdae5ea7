import { describe, expect, it } from 'vitest'
import { createRouter } from '.'
import type { SegmentEvent } from '../../store/types'

const track = (integrations?: unknown): SegmentEvent => ({
  type: 'track',
  messageId: 'm-1',
  userId: 'u-1',
  event: 'Order Completed',
  properties: { total: 10 },
  ...(integrations === undefined ? {} : { integrations })
})

const router = createRouter(undefined)
const skipReason = (integrations: unknown) => {
  const result = router.route(track(integrations))
  return result.deliver ? 'delivered' : result.reason
}

describe('the integrations object', () => {
  it('delivers when integrations is absent or empty', () => {
    expect(skipReason(undefined)).toBe('delivered')
    expect(skipReason({})).toBe('delivered')
  })

  it('skips {"CustomerSuccessBox": false} with the reason naming the flag', () => {
    expect(skipReason({ CustomerSuccessBox: false })).toBe('integrations.CustomerSuccessBox is false')
  })

  it('delivers {"CustomerSuccessBox": true} and an object value', () => {
    expect(skipReason({ CustomerSuccessBox: true })).toBe('delivered')
    expect(skipReason({ CustomerSuccessBox: { someOption: 1 } })).toBe('delivered')
    expect(skipReason({ CustomerSuccessBox: {} })).toBe('delivered')
  })

  it('skips {"All": false} unless this destination is named enabled', () => {
    expect(skipReason({ All: false })).toBe('integrations.All is false and CustomerSuccessBox is not enabled')
    expect(skipReason({ All: false, Intercom: true })).toBe('integrations.All is false and CustomerSuccessBox is not enabled')
    expect(skipReason({ All: false, CustomerSuccessBox: true })).toBe('delivered')
    expect(skipReason({ All: false, CustomerSuccessBox: { x: 1 } })).toBe('delivered')
  })

  it('lets a specific name win over All in both directions', () => {
    expect(skipReason({ All: true, CustomerSuccessBox: false })).toBe('integrations.CustomerSuccessBox is false')
    expect(skipReason({ All: true })).toBe('delivered')
  })

  it('ignores other destinations', () => {
    expect(skipReason({ Intercom: false, Mixpanel: false })).toBe('delivered')
  })

  it('accepts the Actions names as Segment writes them', () => {
    expect(skipReason({ 'CustomerSuccessBox (Actions)': false })).toBe('integrations.CustomerSuccessBox (Actions) is false')
    expect(skipReason({ 'Actions CustomerSuccessBox': false })).toBe('integrations.Actions CustomerSuccessBox is false')
    expect(skipReason({ All: false, 'CustomerSuccessBox (Actions)': true })).toBe('delivered')
    expect(skipReason({ All: false, 'Actions CustomerSuccessBox': {} })).toBe('delivered')
  })

  it('holds the event back when any of its names is false, even if another is true', () => {
    expect(skipReason({ CustomerSuccessBox: true, 'CustomerSuccessBox (Actions)': false })).toBe('integrations.CustomerSuccessBox (Actions) is false')
  })

  it('is case-sensitive, as Segment documents', () => {
    expect(skipReason({ customersuccessbox: false })).toBe('delivered')
    expect(skipReason({ All: false, customersuccessbox: true })).toBe('integrations.All is false and CustomerSuccessBox is not enabled')
  })

  it('only the JSON value false turns it off; null counts as absent', () => {
    expect(skipReason({ CustomerSuccessBox: 'false' })).toBe('delivered')
    expect(skipReason({ CustomerSuccessBox: 0 })).toBe('delivered')
    expect(skipReason({ All: false, CustomerSuccessBox: null })).toBe('integrations.All is false and CustomerSuccessBox is not enabled')
    expect(skipReason({ All: 'false' })).toBe('delivered')
  })

  it('treats a malformed integrations value as absent', () => {
    expect(skipReason('CustomerSuccessBox')).toBe('delivered')
    expect(skipReason([false])).toBe('delivered')
    expect(skipReason(null)).toBe('delivered')
  })

  it('uses the names it is given (the destination exports them)', () => {
    const custom = createRouter([], { integrationNames: ['CSB Relay', 'CustomerSuccessBox'] })
    expect(custom.route(track({ 'CSB Relay': false }))).toEqual({ deliver: false, reason: 'integrations.CSB Relay is false' })
    expect(custom.route(track({ All: false }))).toEqual({ deliver: false, reason: 'integrations.All is false and CSB Relay is not enabled' })
    expect(custom.route(track({ 'CustomerSuccessBox (Actions)': false })).deliver).toBe(true)
  })

  it('returns the input event itself when nothing filters it', () => {
    const event = track({ CustomerSuccessBox: true })
    const result = router.route(event)
    expect(result.deliver && result.event).toBe(event)
  })
})
