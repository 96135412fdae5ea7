/**
 * Consent end to end: HTTP → `csb-relay start` (the built relay) → three destinations: CSB (the
 * sandbox) needing "analytics" and "functional", Segment's webhook definition `hooks` (a loopback
 * receiver) needing "marketing", and a second webhook `open` that `consent` does not map. Each
 * rule of docs/privacy.md, both shapes, reaches exactly the destinations it should; the consent
 * skips are counted per destination where the dashboard (`/api/overview`), `csb-relay status`
 * and `/metrics` show them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { postBatch } from '../helpers/http'
import { assertBuilt, runToExit, startRelayProcess, type RelayProcess } from '../helpers/processes'
import { parsePrometheus, valueOf } from '../helpers/prom'
import { removeTempDirs } from '../helpers/temp'
import { waitFor } from '../helpers/wait'
import { startHookServer, type HookServer } from '../helpers/webhook-server'

const WRITE_KEY = 'wk-consent-test'
const TOKEN = 'consent-test-admin-token'
const ACCOUNT = 'acc-consent'
const REASON = 'Filtered by end user consent'
const CSB = 'CustomerSuccessBox'
const HOOKS = 'hooks'
const OPEN = 'open'
type Destination = typeof CSB | typeof HOOKS | typeof OPEN
const DESTINATIONS: Destination[] = [CSB, HOOKS, OPEN]
const CONSENT = { [CSB]: ['analytics', 'functional'], [HOOKS]: ['marketing'] }

interface Case {
  userId: string
  context?: Record<string, unknown>
  integrations?: Record<string, unknown>
  /** The destinations that get the event; each other one skips it with REASON unless `reasons` says otherwise. */
  to: Destination[]
  reasons?: Partial<Record<Destination, string>>
}

const prefs = (categoryPreferences: Record<string, unknown>) => ({ consent: { categoryPreferences } })
const rudder = (consentManagement: Record<string, unknown>) => ({ consentManagement })
const GRANTED = { analytics: true, functional: true, marketing: true }

const CASES: Case[] = [
  // Segment's shape.
  { userId: 'u-no-consent', to: [CSB, HOOKS, OPEN] },
  { userId: 'u-consent-without-prefs', context: { consent: {} }, to: [CSB, HOOKS, OPEN] },
  { userId: 'u-all-true', context: prefs(GRANTED), to: [CSB, HOOKS, OPEN] },
  { userId: 'u-functional-false', context: prefs({ ...GRANTED, functional: false }), to: [HOOKS, OPEN] },
  { userId: 'u-analytics-false', context: prefs({ ...GRANTED, analytics: false }), to: [HOOKS, OPEN] },
  { userId: 'u-marketing-false', context: prefs({ ...GRANTED, marketing: false }), to: [CSB, OPEN] },
  { userId: 'u-functional-missing', context: prefs({ analytics: true, marketing: true }), to: [HOOKS, OPEN] },
  { userId: 'u-marketing-missing', context: prefs({ analytics: true, functional: true }), to: [CSB, OPEN] },
  { userId: 'u-not-literally-true', context: prefs({ analytics: 'true', functional: 1, marketing: true }), to: [HOOKS, OPEN] },
  { userId: 'u-prefs-empty', context: prefs({}), to: [OPEN] },
  { userId: 'u-only-unmapped', context: prefs({ ads: true }), to: [OPEN] },
  { userId: 'u-unmapped-false', context: prefs({ ...GRANTED, ads: false }), to: [CSB, HOOKS, OPEN] },
  // Consent before the integrations object.
  { userId: 'u-flag-false', context: prefs(GRANTED), integrations: { [CSB]: false }, to: [HOOKS, OPEN], reasons: { [CSB]: `integrations.${CSB} is false` } },
  { userId: 'u-flags-true-no-consent', context: prefs({ analytics: true }), integrations: { All: true, [CSB]: true, [HOOKS]: true }, to: [OPEN] },
  // RudderStack's shape.
  { userId: 'u-rudder-and-one-denied', context: rudder({ deniedConsentIds: ['functional'] }), to: [HOOKS, OPEN] },
  { userId: 'u-rudder-and-explicit', context: rudder({ deniedConsentIds: ['analytics'], resolutionStrategy: 'and' }), to: [HOOKS, OPEN] },
  { userId: 'u-rudder-or-one-denied', context: rudder({ deniedConsentIds: ['functional'], resolutionStrategy: 'or' }), to: [CSB, HOOKS, OPEN] },
  { userId: 'u-rudder-or-both-denied', context: rudder({ deniedConsentIds: ['analytics', 'functional'], resolutionStrategy: 'or' }), to: [HOOKS, OPEN] },
  { userId: 'u-rudder-or-single-category', context: rudder({ deniedConsentIds: ['marketing'], resolutionStrategy: 'or' }), to: [CSB, OPEN] },
  { userId: 'u-rudder-empty', context: rudder({ deniedConsentIds: [], resolutionStrategy: 'and' }), to: [CSB, HOOKS, OPEN] },
  { userId: 'u-rudder-missing', context: rudder({ resolutionStrategy: 'and' }), to: [CSB, HOOKS, OPEN] },
  { userId: 'u-rudder-unmapped-denied', context: rudder({ deniedConsentIds: ['ads'] }), to: [CSB, HOOKS, OPEN] },
  { userId: 'u-rudder-flag-true', context: rudder({ deniedConsentIds: ['analytics'] }), integrations: { All: true, [CSB]: true }, to: [HOOKS, OPEN] },
  // Both shapes: either one blocks.
  { userId: 'u-both-shapes', context: { ...prefs(GRANTED), ...rudder({ deniedConsentIds: ['marketing'] }) }, to: [CSB, OPEN] }
]

/** What each destination should show: deliveries, skips, and skips for consent. */
const expected = (d: Destination) => {
  const skipped = CASES.filter((c) => !c.to.includes(d))
  return { delivered: CASES.length - skipped.length, skipped: skipped.length, consent: skipped.filter((c) => !c.reasons?.[d]).length }
}

interface Summary { userId: string; lastError: string | null }
interface Overview {
  successRate: number | null
  destinations: Array<{ name: string; stored: { delivered: number; dead: number; skipped: number } }>
  reasons: Array<{ destination: string; reason: string; status: string; count: number }>
}

describe('consent end to end: HTTP → csb-relay start → CSB sandbox and two webhooks', () => {
  let sandbox: Sandbox
  let hooks: HookServer
  let open: HookServer
  let relay: RelayProcess

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${relay.url}/api${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(res.status, path).toBe(200)
    return (await res.json()) as T
  }

  beforeAll(async () => {
    assertBuilt()
    sandbox = await startSandbox({ port: 0 })
    hooks = await startHookServer()
    open = await startHookServer()
    const webhook = (name: string, hook: HookServer) => ({
      name,
      definition: 'webhook',
      settings: {},
      subscriptions: [{ name: 'identifies', partnerAction: 'send', subscribe: 'type = "identify"', mapping: { url: `${hook.url}/in`, method: 'POST', data: { '@path': '$.' } } }]
    })
    relay = await startRelayProcess({
      env: { CSB_RELAY_ADMIN_TOKEN: TOKEN },
      config: {
        logLevel: 'warn',
        sources: [{ name: 'consent-test', writeKey: WRITE_KEY }],
        csb: { apiKey: sandbox.apiKey, baseUrl: sandbox.url },
        delivery: { pollIntervalMs: 10 },
        destinations: [webhook(HOOKS, hooks), webhook(OPEN, open)],
        consent: CONSENT
      }
    })
    const batch = CASES.map((c, i) => ({
      type: 'identify',
      messageId: `consent-${i}`,
      userId: c.userId,
      traits: { account_id: ACCOUNT, name: c.userId },
      ...(c.context ? { context: c.context } : {}),
      ...(c.integrations ? { integrations: c.integrations } : {})
    }))
    expect(await postBatch(relay.url, WRITE_KEY, batch)).toBe(200)
    await waitFor('every destination to settle every event', async () => {
      const { destinations } = await api<Overview>('/overview?period=1h')
      return DESTINATIONS.every((d) => {
        const row = destinations.find((r) => r.name === d)
        return row && row.stored.delivered + row.stored.skipped + row.stored.dead === CASES.length
      })
    })
  }, 60_000)

  afterAll(async () => {
    const exit = await relay?.stop()
    await Promise.all([sandbox?.close(), hooks?.close(), open?.close()])
    removeTempDirs()
    expect(exit).toEqual({ code: 0, signal: null })
  })

  /** How many requests carrying the user's event each destination's receiver accepted. */
  const received = (userId: string): Record<Destination, number> => ({
    [CSB]: sandbox.requests().filter((r) => r.status < 300 && JSON.stringify(r.body).includes(`"${userId}"`)).length,
    [HOOKS]: hooks.accepted().filter((e) => e.userId === userId).length,
    [OPEN]: open.accepted().filter((e) => e.userId === userId).length
  })

  it.each(CASES.map((c) => ({ ...c, reach: c.to.join(', ') })))('$userId reaches exactly: $reach', async (c) => {
    const got = received(c.userId)
    expect(got).toEqual(Object.fromEntries(DESTINATIONS.map((d) => [d, c.to.includes(d) ? 1 : 0])))
    for (const d of DESTINATIONS) {
      const { events } = await api<{ events: Summary[] }>(`/events?status=skipped&destination=${d}&limit=500`)
      const mine = events.filter((e) => e.userId === c.userId).map((e) => e.lastError)
      expect(mine, d).toEqual(c.to.includes(d) ? [] : [c.reasons?.[d] ?? REASON])
    }
  })

  it('skips, never errors: each destination\'s delivered and skipped in the dashboard\'s overview', async () => {
    const { destinations, successRate } = await api<Overview>('/overview?period=1h')
    for (const d of DESTINATIONS) {
      const { delivered, skipped } = expected(d)
      expect(destinations.find((r) => r.name === d)?.stored, d).toEqual({ delivered, dead: 0, skipped })
    }
    expect(expected(OPEN)).toMatchObject({ delivered: CASES.length, skipped: 0 })
    // Nothing failed: the consent skips do not lower the success rate.
    expect(successRate).toBe(1)
  })

  it('counts the consent skips per destination in the reasons the dashboard shows', async () => {
    const { reasons } = await api<Overview>('/overview?period=1h')
    const consent = reasons.filter((r) => r.reason === REASON)
    expect(consent.map((r) => ({ destination: r.destination, status: r.status, count: r.count })).sort((a, b) => a.destination.localeCompare(b.destination))).toEqual([
      { destination: CSB, status: 'skipped', count: expected(CSB).consent },
      { destination: HOOKS, status: 'skipped', count: expected(HOOKS).consent }
    ])
    expect(reasons.filter((r) => r.destination === OPEN)).toEqual([])
    // One destination alone: its reasons only.
    const csbOnly = await api<Overview>(`/overview?period=1h&destination=${CSB}`)
    expect(csbOnly.reasons.find((r) => r.reason === REASON)).toMatchObject({ destination: CSB, count: expected(CSB).consent })
    expect(csbOnly.reasons.some((r) => r.destination !== CSB)).toBe(false)
  })

  it('counts them per destination in `csb-relay status`', async () => {
    const r = await runToExit(['status', '--url', relay.url, '--token', TOKEN])
    expect(r.code, r.stderr).toBe(0)
    for (const d of [CSB, HOOKS] as const) {
      expect(r.stdout).toMatch(new RegExp(`skipped +${expected(d).consent} +\\[${d}\\] ${REASON}`))
    }
    expect(r.stdout).not.toMatch(new RegExp(`\\[${OPEN}\\]`))
    expect(r.stdout).toMatch(/success rate: 100\.0%/)
    for (const d of DESTINATIONS) {
      const { delivered, skipped } = expected(d)
      expect(r.stdout).toMatch(new RegExp(`\\n +${d} +backlog 0 .*delivered ${delivered} +dead 0 +skipped ${skipped}`))
    }
    const alone = await runToExit(['status', '--url', relay.url, '--token', TOKEN, '--destination', HOOKS])
    expect(alone.stdout).toMatch(new RegExp(`skipped +${expected(HOOKS).consent} +${REASON}`))
  })

  it('counts them per destination in /metrics', async () => {
    const metrics = parsePrometheus(await (await fetch(`${relay.url}/metrics`)).text())
    const name = 'csb_relay_consent_filtered_events_total'
    expect(valueOf(metrics, name, { destination: CSB })).toBe(expected(CSB).consent)
    expect(valueOf(metrics, name, { destination: HOOKS })).toBe(expected(HOOKS).consent)
    // Never held back, the unmapped destination has no consent line, and got every event.
    expect(() => valueOf(metrics, name, { destination: OPEN })).toThrow(/no sample/)
    const outcomes = 'csb_relay_delivery_outcomes_total'
    expect(valueOf(metrics, outcomes, { destination: OPEN, outcome: 'delivered' })).toBe(CASES.length)
    for (const d of [CSB, HOOKS] as const) {
      expect(valueOf(metrics, outcomes, { destination: d, outcome: 'skipped' })).toBe(expected(d).skipped)
    }
  })
})
