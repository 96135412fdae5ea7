/**
 * The dashboard with two destinations (CSB against the sandbox; Segment's webhook definition
 * against a loopback server refusing everything with 400) in headless Chromium: a row per
 * destination, the selector narrowing the cards, reasons and events to one, a bulk replay that
 * touches only the destination shown, and no Content-Security-Policy violation.
 */
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Relay } from '../../src/cli/relay'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { startHookServer, type HookServer } from '../helpers/webhook-server'
import { launchBrowser } from '../helpers/browser'
import { post, startTestRelay } from '../helpers/relay'
import { removeTempDirs } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

const TOKEN = 'dashboard-destinations-token-7'
let sandbox: Sandbox
let hook: HookServer
let relay: Relay
let browser: BrowserContext
let page: Page
const violations: string[] = []

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 })
  hook = await startHookServer()
  hook.answer = 400
  relay = await startTestRelay({
    env: { CSB_API_KEY: sandbox.apiKey, CSB_BASE_URL: sandbox.url, CSB_RELAY_ADMIN_TOKEN: TOKEN },
    configFile: {
      delivery: { pollIntervalMs: 10 },
      destinations: [{
        name: 'hooks', definition: 'webhook', settings: {},
        subscriptions: [{ name: 'tracks', partnerAction: 'send', subscribe: 'type = "track"', mapping: { url: `${hook.url}/in`, method: 'POST', data: { '@path': '$.' } } }]
      }]
    }
  })
  await post(relay, '/v1/batch', { batch: [1, 2].map((i) => ({ type: 'track', userId: `u-${i}`, event: `Used ${i}`, properties: { account_id: 'acme' } })) })
  await waitFor('CSB delivering, the webhook dead-lettering', async () => {
    const c = (await relay.store.counts()).byDestination
    return c.CustomerSuccessBox?.delivered === 2 && c.hooks?.dead === 2
  }, { timeoutMs: 20_000 })
  browser = await launchBrowser()
  page = await browser.newPage()
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text())
  })
  page.on('pageerror', (err) => violations.push(err.message))
  page.on('dialog', (d) => void d.accept())
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await relay?.close()
  await hook?.close()
  await sandbox?.close()
  removeTempDirs()
})

const text = (testId: string) => page.getByTestId(testId).first().innerText()

describe('dashboard with two destinations', () => {
  it('shows a row per destination and narrows the page to the one chosen', async () => {
    await page.goto(`${relay.url}/`)
    await page.getByTestId('token-input').fill(TOKEN)
    await page.getByTestId('token-submit').click()
    await page.getByTestId('destinations').waitFor({ state: 'visible' })
    const hooksRow = page.locator('#destinations-body tr[data-destination="hooks"]')
    await waitFor('the hooks row', async () => /hooks\s+0\s+0\s+–\s+0\s+2\s+0/.test(await hooksRow.innerText()))
    expect(await page.locator('#destinations-body tr[data-destination="CustomerSuccessBox"]').innerText()).toMatch(/CustomerSuccessBox\s+0\s+0\s+–\s+2\s+0\s+0/)
    await page.locator('#periods button[data-period="1h"]').click()
    await waitFor('all destinations added up', async () => (await text('count-delivered')) === '2' && (await text('count-dead')) === '2')

    await page.getByTestId('destination').selectOption('hooks')
    await waitFor('the hooks figures alone', async () => (await text('count-delivered')) === '0' && (await text('count-dead')) === '2')
    expect(await page.getByTestId('reasons').innerText()).toMatch(/hooks/)
    await waitFor('the hooks events alone', async () => (await page.locator('#events-body tr').count()) === 2)
    expect(await page.locator('#events-body').innerText()).not.toMatch(/CustomerSuccessBox/)

    await hooksRow.getByTestId('pick-destination').click()
    expect(await page.getByTestId('destination').inputValue()).toBe('hooks')
    await page.locator('#destinations-body tr[data-destination="CustomerSuccessBox"]').getByTestId('pick-destination').click()
    await waitFor('the CSB figures alone', async () => (await text('count-delivered')) === '2' && (await text('count-dead')) === '0')
  })

  it("replays only the shown destination's dead letters, under the CSP with no violation", async () => {
    // CSB shown: its "replay all" finds nothing; the webhook's dead letters stay.
    await page.locator('#status-filter button[data-status="dead"]').click()
    await page.getByTestId('replay-all').click()
    await waitFor('nothing replayed for CSB', async () => /replayed 0 event/.test(await page.locator('#updated').innerText()))
    expect((await relay.store.counts()).byDestination.hooks.dead).toBe(2)
    hook.answer = 200
    await page.getByTestId('destination').selectOption('hooks')
    await page.getByTestId('replay-all').click()
    await waitFor('the webhook events replayed and delivered', async () => (await relay.store.counts()).byDestination.hooks.delivered === 2, { timeoutMs: 20_000 })
    expect((await relay.store.counts()).byDestination.CustomerSuccessBox.delivered).toBe(2)
    expect(violations).toEqual([])
  })
})
