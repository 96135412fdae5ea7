/**
 * The dashboard in headless Chromium against a real relay and the CSB sandbox: the token
 * prompt, counts moving after events are sent, an event's three samples, a dead letter
 * replayed until it shows as delivered, the event tester, and no Content-Security-Policy
 * violation anywhere. Screenshots go to test-results/screenshots/.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Relay } from '../../src/cli/relay'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { launchBrowser } from '../helpers/browser'
import { post, startTestRelay, TEST_WRITE_KEY } from '../helpers/relay'
import { removeTempDirs } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

const SHOTS = path.resolve(__dirname, '../../test-results/screenshots')
const API_KEY = 'csb_browser_test_key_0123456789abcdef'
const TOKEN = 'dashboard-admin-token-42'

let browser: BrowserContext
// Each test's own: a sandbox, a relay delivering to it, and a dashboard page watched for CSP violations.
let sandbox: Sandbox
let relay: Relay
let page: Page
let watch: CspWatch

/** What the browser reported against the page's CSP: violation events, console lines, script errors. */
interface CspWatch {
  console: string[]
  errors: string[]
  violations: () => Promise<string[]>
}

/** Starts watching before the page loads: the listener is installed ahead of any page script. */
async function watchCsp(p: Page): Promise<CspWatch> {
  const watch: CspWatch = {
    console: [],
    errors: [],
    violations: () => p.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)
  }
  p.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) watch.console.push(m.text())
  })
  p.on('pageerror', (err) => watch.errors.push(err.message))
  await p.addInitScript(() => {
    const seen: string[] = []
    ;(window as unknown as { cspViolations: string[] }).cspViolations = seen
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective}: ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`))
  })
  return watch
}

async function shot(name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })
}

const text = (testId: string) => page.getByTestId(testId).first().innerText()

/** Opens the dashboard on `p` and gives it the admin token. */
async function signIn(p: Page) {
  await p.goto(`${relay.url}/`)
  await p.getByTestId('token-dialog').waitFor({ state: 'visible' })
  await p.getByTestId('token-input').fill(TOKEN)
  await p.getByTestId('token-submit').click()
  await p.getByTestId('token-dialog').waitFor({ state: 'hidden' })
}

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true })
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  removeTempDirs()
})

beforeEach(async () => {
  sandbox = await startSandbox({ port: 0, apiKey: API_KEY })
  relay = await startTestRelay({ env: { CSB_API_KEY: API_KEY, CSB_BASE_URL: sandbox.url, CSB_RELAY_ADMIN_TOKEN: TOKEN } })
  page = await browser.newPage()
  watch = await watchCsp(page)
  await page.setViewportSize({ width: 1360, height: 900 })
  page.on('dialog', (d) => void d.accept())
})

afterEach(async () => {
  try {
    // Whatever the test did on its page, the browser refused nothing under the CSP.
    expect(await watch.violations()).toEqual([])
    expect(watch.console).toEqual([])
    expect(watch.errors).toEqual([])
  } finally {
    await page.close()
    await relay.close()
    await sandbox.close()
  }
})

describe('dashboard in a browser', () => {
  it('asks for the admin token, then shows counts that change after events are sent', async () => {
    await page.goto(`${relay.url}/`)
    await page.getByTestId('token-dialog').waitFor({ state: 'visible' })
    await shot('0-token-prompt')
    await page.getByTestId('token-input').fill(TOKEN)
    await page.getByTestId('token-submit').click()
    await page.getByTestId('token-dialog').waitFor({ state: 'hidden' })
    await waitFor('empty counts', async () => (await text('count-ingested')) === '0')
    await waitFor('CSB check', async () => /accepts the API key/.test(await text('csb-check')), { timeoutMs: 15_000 })

    const res = await post(relay, '/v1/batch', {
      batch: [
        { type: 'identify', userId: 'ada', traits: { account_id: 'acme', email: 'ada@acme.test', first_name: 'Ada' } },
        { type: 'track', userId: 'ada', event: 'Report Exported', properties: { account_id: 'acme' } },
        { type: 'track', userId: 'grace', event: 'Report Exported' }
      ]
    })
    expect(res.status).toBe(200)
    await page.locator('#periods button[data-period="1h"]').click()
    await waitFor(
      'dashboard counts after delivery',
      async () => {
        await page.locator('#periods button[data-period="1h"]').click()
        return (await text('count-delivered')) === '2' && (await text('count-dead')) === '1'
      },
      { timeoutMs: 20_000, intervalMs: 500 }
    )
    expect(await text('count-ingested')).toBe('3')
    expect(await text('p95')).toMatch(/\d+(\.\d)? (ms|s)/)
    expect(await page.locator('#chart polyline[data-series="delivered"]').count()).toBe(1)
    const reasons = await page.getByTestId('reasons').innerText()
    expect(reasons).toMatch(/account_id/)
    expect(reasons).toMatch(/identify the user with an account first/)
    // What the store keeps, from the defaults in force.
    expect(await text('retention')).toBe(
      'Kept: delivered and skipped events, with their request and response samples, for 7 days after they finish; ' +
        'dead letters for 30 days after they fail (a replay starts them again); unfinished events until they finish; ' +
        'identity-map links (a user to an account) until an event links the user to another account or a deletion removes them. ' +
        'Pruned every hour (store.retentionDays, store.deadLetterRetentionDays, store.pruneIntervalMs).'
    )
    await shot('1-overview')
  })

  it('opens an event and shows its three samples: as received, the request (key redacted), the response', async () => {
    expect((await post(relay, '/v1/track', { userId: 'ada', event: 'Report Exported', properties: { account_id: 'acme' } })).status).toBe(200)
    await waitFor('the event delivered', async () => (await relay.store.counts()).delivered === 1)
    await signIn(page)
    await page.locator('#status-filter button[data-status="delivered"]').click()
    const row = page.locator('#events-body tr[data-status="delivered"]').filter({ hasText: 'Report Exported' })
    await row.first().getByTestId('open-event').click()
    await page.getByTestId('detail').waitFor({ state: 'visible' })
    const received = await text('sample-received')
    const request = await text('sample-request')
    const response = await text('sample-response')
    expect(JSON.parse(received)).toMatchObject({ type: 'track', event: 'Report Exported', userId: 'ada' })
    expect(request).toContain('/api/v1_1/feature')
    expect(request).toContain('"feature_id": "Report Exported"')
    expect(request).toContain('[redacted]')
    expect(request).not.toContain(API_KEY)
    expect(JSON.parse(response)).toMatchObject({ status: 200, body: { success: true } })
    await shot('2-event-samples')
  })

  it('replays a dead letter and shows it as delivered', async () => {
    await signIn(page)
    // CSB refuses one event once (400, not retried): it becomes a dead letter.
    sandbox.setFaults({ rules: [{ match: { path: '/api/v1_1/feature', body: { feature_id: 'Invoice Sent' } }, status: 400, count: 1, message: 'invalid feature' }] })
    await post(relay, '/v1/track', { userId: 'ada', event: 'Invoice Sent', properties: { account_id: 'acme' } })
    await page.locator('#status-filter button[data-status="dead"]').click()
    const deadRow = page.locator('#events-body tr[data-status="dead"]').filter({ hasText: 'Invoice Sent' })
    await waitFor(
      'the dead letter in the list',
      async () => {
        await page.locator('#status-filter button[data-status="dead"]').click()
        return (await deadRow.count()) === 1
      },
      { timeoutMs: 20_000, intervalMs: 500 }
    )
    const id = await deadRow.getAttribute('data-event-id')
    await deadRow.getByTestId('open-event').click()
    await waitFor('detail of the dead letter', async () => (await page.locator('#detail-status').getAttribute('data-status')) === 'dead')
    expect(await text('sample-response')).toContain('400')
    await shot('3-dead-letter')

    await page.getByTestId('detail-replay').click()
    await waitFor('the replayed event to show as delivered', async () => (await page.locator('#detail-status').getAttribute('data-status')) === 'delivered', { timeoutMs: 20_000, intervalMs: 250 })
    expect(await page.locator('#detail-id').innerText()).toBe(id)
    expect(JSON.parse(await text('sample-response'))).toMatchObject({ status: 200 })
    await shot('4-replayed-delivered')
  })

  it('tests an event: shows the matching action and the exact CSB request, then sends it', async () => {
    await signIn(page)
    const event = { type: 'track', userId: 'ada', event: 'Dashboard Viewed', properties: { account_id: 'acme', module_id: 'insights' } }
    await page.getByTestId('tester-input').fill(JSON.stringify(event, null, 2))
    const before = sandbox.requests({ path: '/api/v1_1/feature' }).length
    await page.getByTestId('tester-run').click()
    await waitFor('tester result', async () => (await text('tester-output')).includes('/api/v1_1/feature'))
    const output = await text('tester-output')
    expect(output).toMatch(/^Would send: POST http:\/\/127\.0\.0\.1:\d+\/api\/v1_1\/feature \(trackFeature via "Track Calls"\)/)
    expect(output).toContain('"partnerAction": "trackFeature"')
    expect(output).toContain('"feature_id": "Dashboard Viewed"')
    expect(output).toContain('"module_id": "insights"')
    expect(output).not.toContain(API_KEY)
    expect(sandbox.requests({ path: '/api/v1_1/feature' }).length).toBe(before)
    await page.getByTestId('tester-output').scrollIntoViewIfNeeded()
    await shot('5-event-tester')

    await page.getByTestId('tester-send').click()
    await waitFor('tester send result', async () => (await text('tester-output')).includes('"sent": true'))
    expect(await text('tester-output')).toMatch(/^Sent: POST \S+\/api\/v1_1\/feature → 200/)
    const sent = sandbox.requests({ path: '/api/v1_1/feature' }).filter((r) => (r.body as { feature_id?: string }).feature_id === 'Dashboard Viewed')
    expect(sent).toHaveLength(1)
  })

  it('shows the configuration with secrets redacted, and nothing secret anywhere on the page', async () => {
    await signIn(page)
    const config = await waitFor('the configuration shown', async () => {
      const shown = await text('config')
      return shown.includes('[redacted') && shown
    })
    expect(config).toContain(sandbox.url)
    expect(config).toContain('[redacted')
    const html = await page.content()
    for (const secret of [API_KEY, TEST_WRITE_KEY, TOKEN]) expect(html).not.toContain(secret)
    await page.getByTestId('config').scrollIntoViewIfNeeded()
    await shot('6-config')
  })

  it("loads and runs under a CSP without 'unsafe-inline' with zero violations", async () => {
    const res = await fetch(`${relay.url}/`)
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline')
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")

    // A page and an event of its own: the page is opened after the event was sent.
    expect((await post(relay, '/v1/track', { userId: 'ada', event: 'CSP Checked', properties: { account_id: 'acme' } })).status).toBe(200)
    await signIn(page)
    await page.locator('#forget-token').waitFor({ state: 'visible' })
    await page.locator('#periods button[data-period="1h"]').click()
    await page.locator('#chart polyline[data-series="delivered"]').waitFor({ state: 'attached' })
    // The legend's colours are set from script (allowed); a style attribute would be refused.
    // The legend is redrawn after the chart's lines, so its first swatch is read until it is there.
    const swatch = page.locator('#legend i').first()
    await expect.poll(() => swatch.evaluate((e) => getComputedStyle(e).backgroundColor).catch(() => ''), { timeout: 5000 }).toBe('rgb(59, 111, 216)')
    expect(await page.locator('#legend i').count()).toBe(5)
    // The stylesheet applied: the dialog hidden, the cards laid out as a grid.
    expect(await page.locator('.cards').evaluate((e) => getComputedStyle(e).display)).toBe('grid')
    await page.locator('#status-filter button[data-status="dead"]').click()
    await page.locator('#dlq-actions').waitFor({ state: 'visible' })
    await page.locator('#status-filter button[data-status=""]').click()
    await page.locator('#dlq-actions').waitFor({ state: 'hidden' })
    await page.locator('#events-body tr').filter({ hasText: 'CSP Checked' }).getByTestId('open-event').click()
    await page.getByTestId('detail').waitFor({ state: 'visible' })
    await page.locator('#detail-close').click()
    await page.getByTestId('detail').waitFor({ state: 'hidden' })
    await page.getByTestId('tester-run').click()
    await waitFor('tester result', async () => (await page.getByTestId('tester-output').innerText()).includes('/api/v1_1/feature'))

    expect(await watch.violations()).toEqual([])
    expect(watch.console).toEqual([])
    expect(watch.errors).toEqual([])
  })
})
