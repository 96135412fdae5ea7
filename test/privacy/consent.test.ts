/**
 * Consent end to end: HTTP → `csb-relay start` (the built relay, config "consent") → the CSB
 * sandbox. Each rule of docs/privacy.md, both shapes, is delivered or skipped with Segment's
 * reason; the skips are counted per destination in /metrics and listed among the store's reasons
 * (what the dashboard and `status` show).
 */
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { openStore, type Store } from '../../src/store'
import { assertBuilt, startRelayProcess, type RelayProcess } from '../helpers/processes'
import { tempDir } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

const WRITE_KEY = 'wk-consent-test'
const ACCOUNT = 'acc-consent'
const REASON = 'Filtered by end user consent'

/** userId → the context and integrations it is sent with; skip: true when consent holds it back. */
const CASES: Array<{ userId: string; context?: Record<string, unknown>; integrations?: Record<string, unknown>; skip?: string }> = [
  { userId: 'u-no-consent' },
  { userId: 'u-consent-without-prefs', context: { consent: {} } },
  { userId: 'u-analytics-true', context: { consent: { categoryPreferences: { analytics: true } } } },
  { userId: 'u-analytics-false', context: { consent: { categoryPreferences: { analytics: false } } }, skip: REASON },
  { userId: 'u-prefs-empty', context: { consent: { categoryPreferences: {} } }, skip: REASON },
  { userId: 'u-only-unmapped', context: { consent: { categoryPreferences: { ads: true } } }, skip: REASON },
  { userId: 'u-unmapped-false', context: { consent: { categoryPreferences: { analytics: true, ads: false } } } },
  { userId: 'u-flag-false', context: { consent: { categoryPreferences: { analytics: true } } }, integrations: { CustomerSuccessBox: false }, skip: 'integrations.CustomerSuccessBox is false' },
  { userId: 'u-flag-true-no-consent', context: { consent: { categoryPreferences: { analytics: false } } }, integrations: { CustomerSuccessBox: true }, skip: REASON },
  { userId: 'u-rudder-denied', context: { consentManagement: { deniedConsentIds: ['analytics'] } }, skip: REASON },
  { userId: 'u-rudder-other-denied', context: { consentManagement: { deniedConsentIds: ['ads'] } } },
  { userId: 'u-rudder-or-denied', context: { consentManagement: { deniedConsentIds: ['analytics'], resolutionStrategy: 'or' } }, skip: REASON },
  { userId: 'u-rudder-flag-true', context: { consentManagement: { deniedConsentIds: ['analytics'] } }, integrations: { All: true, CustomerSuccessBox: true }, skip: REASON }
]
const CONSENT_SKIPS = CASES.filter((c) => c.skip === REASON).length

describe('consent end to end: HTTP → csb-relay start → sandbox', () => {
  let sandbox: Sandbox
  let relay: RelayProcess
  let store: Store

  beforeAll(async () => {
    assertBuilt()
    sandbox = await startSandbox({ port: 0 })
    relay = await startRelayProcess({
      dir: tempDir('consent'),
      config: {
        sources: [{ name: 'consent-test', writeKey: WRITE_KEY }],
        csb: { apiKey: sandbox.apiKey, baseUrl: sandbox.url },
        consent: { CustomerSuccessBox: ['analytics'] }
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
    const res = await fetch(`${relay.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` },
      body: JSON.stringify({ batch })
    })
    expect(res.status).toBe(200)
    store = await openStore(`sqlite:${relay.db}`)
    await waitFor('every event to be delivered or skipped', async () => {
      const counts = await store.counts()
      return counts.delivered + counts.skipped + counts.dead >= CASES.length ? counts : undefined
    })
  })

  afterAll(async () => {
    await store?.close()
    const code = await relay?.stop()
    await sandbox?.close()
    if (relay) fs.rmSync(relay.dir, { recursive: true, force: true })
    expect(code).toEqual({ code: 0, signal: null })
  })

  const bodiesFor = (userId: string) => sandbox.requests().filter((r) => JSON.stringify(r.body).includes(`"${userId}"`))

  it.each(CASES)('$userId: delivered or skipped as the consent rules say', async (c) => {
    const skipped = await store.list({ status: 'skipped', limit: 1000 })
    const mine = skipped.filter((e) => e.event.userId === c.userId)
    if (c.skip) {
      expect(mine.map((e) => e.lastError)).toEqual([c.skip])
      expect(bodiesFor(c.userId)).toEqual([])
    } else {
      expect(mine).toEqual([])
      expect(bodiesFor(c.userId)).toHaveLength(1)
    }
  })

  it('skips, never errors: nothing dead, every consent skip among the reasons the dashboard and status show', async () => {
    const counts = await store.counts()
    expect(counts).toMatchObject({ dead: 0, skipped: CASES.filter((c) => c.skip).length, delivered: CASES.filter((c) => !c.skip).length })
    const reasons = await store.reasons()
    expect(reasons.find((r) => r.reason === REASON)).toMatchObject({ status: 'skipped', count: CONSENT_SKIPS })
  })

  it('counts the consent skips per destination in /metrics', async () => {
    const text = await (await fetch(`${relay.url}/metrics`)).text()
    expect(text).toContain(`csb_relay_consent_filtered_events_total{destination="CustomerSuccessBox"} ${CONSENT_SKIPS}`)
  })
})
