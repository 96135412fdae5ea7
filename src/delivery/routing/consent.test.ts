import { describe, expect, it } from 'vitest'
import { createRouter, CONSENT_SKIP_REASON } from '.'
import type { SegmentEvent } from '../../store/types'

const CONSENT = { CustomerSuccessBox: ['analytics'], hooks: ['marketing', 'ads'] }

const event = (context?: Record<string, unknown>, integrations?: Record<string, unknown>): SegmentEvent => ({
  type: 'track',
  messageId: 'm-1',
  userId: 'u-1',
  event: 'Order Completed',
  ...(context ? { context } : {}),
  ...(integrations ? { integrations } : {})
})

const outcome = (router: ReturnType<typeof createRouter>, e: SegmentEvent) => {
  const r = router.route(e)
  return r.deliver ? 'delivered' : r.reason
}
const csb = createRouter(undefined, { consent: CONSENT })
const hooks = createRouter(undefined, { consent: CONSENT, integrationNames: ['hooks'] })
const unmapped = createRouter(undefined, { consent: CONSENT, integrationNames: ['Other'] })
const prefs = (categoryPreferences: Record<string, unknown>) => ({ consent: { categoryPreferences } })
const rudder = (deniedConsentIds: unknown[], resolutionStrategy?: string) => ({
  consentManagement: { provider: 'custom', allowedConsentIds: [], deniedConsentIds, ...(resolutionStrategy ? { resolutionStrategy } : {}) }
})

describe("consent, Segment's categoryPreferences", () => {
  it('lets an event without a consent object flow, and one whose consent has no categoryPreferences', () => {
    expect(outcome(csb, event())).toBe('delivered')
    expect(outcome(csb, event({ ip: '1.2.3.4' }))).toBe('delivered')
    expect(outcome(csb, event({ consent: {} }))).toBe('delivered')
  })

  it('delivers to a mapped destination only when every one of its categories is true', () => {
    expect(outcome(csb, event(prefs({ analytics: true })))).toBe('delivered')
    expect(outcome(csb, event(prefs({ analytics: false })))).toBe(CONSENT_SKIP_REASON)
    expect(outcome(hooks, event(prefs({ marketing: true, ads: true })))).toBe('delivered')
    expect(outcome(hooks, event(prefs({ marketing: true, ads: false })))).toBe(CONSENT_SKIP_REASON)
  })

  it('counts a missing category, or a value other than true, as not consented: {} blocks every mapped destination', () => {
    expect(outcome(csb, event(prefs({})))).toBe(CONSENT_SKIP_REASON)
    expect(outcome(hooks, event(prefs({})))).toBe(CONSENT_SKIP_REASON)
    expect(outcome(hooks, event(prefs({ marketing: true })))).toBe(CONSENT_SKIP_REASON)
    expect(outcome(csb, event(prefs({ analytics: 'true' })))).toBe(CONSENT_SKIP_REASON)
  })

  it('ignores categories no destination maps, and gives unmapped destinations everything', () => {
    expect(outcome(csb, event(prefs({ analytics: true, personalization: false })))).toBe('delivered')
    expect(outcome(unmapped, event(prefs({})))).toBe('delivered')
    expect(outcome(unmapped, event(prefs({ analytics: false, marketing: false })))).toBe('delivered')
    expect(outcome(createRouter(undefined), event(prefs({})))).toBe('delivered')
  })

  it('is checked before the integrations object: false still blocks, true cannot override missing consent', () => {
    expect(outcome(csb, event(prefs({ analytics: true }), { CustomerSuccessBox: false }))).toBe('integrations.CustomerSuccessBox is false')
    expect(outcome(csb, event(prefs({ analytics: false }), { CustomerSuccessBox: true }))).toBe(CONSENT_SKIP_REASON)
    expect(outcome(csb, event(prefs({}), { All: true, CustomerSuccessBox: true }))).toBe(CONSENT_SKIP_REASON)
  })

  it('keys the consent map by the destination name, not by the other integration names', () => {
    const named = createRouter(undefined, { consent: { Webhook: ['analytics'] }, integrationNames: ['Webhook', 'Webhooks (Actions)'] })
    expect(outcome(named, event(prefs({})))).toBe(CONSENT_SKIP_REASON)
    const explicit = createRouter(undefined, { consent: { CustomerSuccessBox: ['analytics'] }, integrationNames: ['CustomerSuccessBox (Actions)'], destinationName: 'CustomerSuccessBox' })
    expect(outcome(explicit, event(prefs({})))).toBe(CONSENT_SKIP_REASON)
  })
})

describe("consent, RudderStack's consentManagement", () => {
  it('with "and" (the default), blocks when any of the destination\'s categories is denied', () => {
    expect(outcome(hooks, event(rudder(['ads'])))).toBe(CONSENT_SKIP_REASON)
    expect(outcome(hooks, event(rudder(['ads'], 'and')))).toBe(CONSENT_SKIP_REASON)
    expect(outcome(hooks, event(rudder(['ads'], 'AND')))).toBe(CONSENT_SKIP_REASON)
    expect(outcome(hooks, event(rudder(['personalization'])))).toBe('delivered')
    expect(outcome(hooks, event(rudder([])))).toBe('delivered')
  })

  it('with "or", blocks only when all of them are denied', () => {
    expect(outcome(hooks, event(rudder(['ads'], 'or')))).toBe('delivered')
    expect(outcome(hooks, event(rudder(['ads', 'marketing'], 'or')))).toBe(CONSENT_SKIP_REASON)
    expect(outcome(csb, event(rudder(['analytics'], 'or')))).toBe(CONSENT_SKIP_REASON)
  })

  it('gives unmapped destinations everything, ignores a consentManagement without deniedConsentIds', () => {
    expect(outcome(unmapped, event(rudder(['analytics', 'marketing', 'ads'])))).toBe('delivered')
    expect(outcome(csb, event({ consentManagement: { allowedConsentIds: ['x'] } }))).toBe('delivered')
  })

  it('is checked before the integrations object, and either shape blocks', () => {
    expect(outcome(csb, event(rudder(['analytics']), { CustomerSuccessBox: true }))).toBe(CONSENT_SKIP_REASON)
    expect(outcome(csb, event({ ...prefs({ analytics: true }), ...rudder(['analytics']) }))).toBe(CONSENT_SKIP_REASON)
    expect(outcome(csb, event({ ...prefs({ analytics: false }), ...rudder([]) }))).toBe(CONSENT_SKIP_REASON)
  })
})
