/**
 * The dashboard's view of regulations in headless Chromium: the "Suppressed" card counts the
 * events dropped for a suppressed user, and the Regulations table lists the newest ones with
 * their outcome (hidden while there are none), under the CSP with no violation. The retention
 * line says the configured retentions, short ones included.
 */
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Relay } from '../../src/cli/relay'
import { launchBrowser } from '../helpers/browser'
import { post, startTestRelay } from '../helpers/relay'
import { removeTempDirs } from '../helpers/temp'
import { waitFor } from '../helpers/wait'
import { regulate, settled } from './regulations-helpers'

const TOKEN = 'dashboard-regulations-token-3'
let relay: Relay
let browser: BrowserContext
let page: Page
const violations: string[] = []

beforeAll(async () => {
  // Retentions in milliseconds, as a short-lived test store might set them: the dashboard says them as they are.
  relay = await startTestRelay({
    env: { CSB_RELAY_ADMIN_TOKEN: TOKEN },
    configFile: { store: { retentionMs: 90_000, deadLetterRetentionMs: 45_000, pruneIntervalMs: 600_000 } }
  })
  browser = await launchBrowser()
  page = await browser.newPage()
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text())
  })
  page.on('pageerror', (err) => violations.push(err.message))
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await relay?.close()
  removeTempDirs()
})

describe('dashboard: regulations and suppressed events', () => {
  it('hides the table while there are none, then shows the newest regulations and the suppressed count; says the retention', async () => {
    await page.goto(`${relay.url}/`)
    await page.getByTestId('token-input').fill(TOKEN)
    await page.getByTestId('token-submit').click()
    await waitFor('the overview loaded', async () => (await page.getByTestId('suppressed').innerText()) === '0')
    expect(await page.getByTestId('regulations').isVisible()).toBe(false)
    const retention = await page.getByTestId('retention').innerText()
    expect(retention).toContain('with their request and response samples, for 1.5 minutes after they finish; dead letters for 45 seconds after they fail')
    expect(retention).toContain('identity-map links (a user to an account) until an event links the user to another account or a deletion removes them.')
    expect(retention).toContain('Pruned every 10 minutes')

    const id = await regulate(relay.url, 'SUPPRESS_ONLY', ['u-dash'], TOKEN)
    await settled(relay.url, id, TOKEN)
    const batch = [1, 2, 3].map((i) => ({ type: 'track', userId: 'u-dash', event: `Hidden ${i}` }))
    expect((await post(relay, '/v1/batch', { batch })).status).toBe(200)
    await waitFor('the drops counted by the store', async () => (await relay.store.suppressedEvents()) === 3)

    // The page refreshes itself every few seconds.
    await waitFor('the suppressed card', async () => (await page.getByTestId('suppressed').innerText()) === '3', { timeoutMs: 15_000 })
    const row = page.locator(`#regulations-body tr[data-regulation="${id}"]`)
    await waitFor('the regulation row', async () => (await row.count()) === 1, { timeoutMs: 15_000 })
    expect(await page.getByTestId('regulations').isVisible()).toBe(true)
    expect(await row.innerText()).toMatch(/SUPPRESS_ONLY\s+1\s+FINISHED\s+api\s+1 suppressed/)
    expect(violations).toEqual([])
  })
})
