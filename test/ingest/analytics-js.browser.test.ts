/**
 * analytics.js served first-party, in headless Chromium: a page on another local origin (a
 * second loopback server) embeds Segment's own snippet (rendered by @segment/snippet) with only
 * its host changed to the relay's, and makes the seed's four calls. Every request the page makes
 * goes through playwright's interception: one to any host other than the page's and the
 * relay's is blocked and recorded. None may happen, and the four calls must reach the CSB
 * sandbox as the seed's requests.
 *
 * Over plain http the snippet also sets `analytics._cdn` (analytics.js derives its CDN from the
 * script's URL only over https). Over https, behind a TLS proxy and with `trustProxy`, the host
 * change alone must do.
 */
import snippet from '@segment/snippet'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { BrowserContext } from 'playwright-core'
import type { Relay } from '../../src/cli/relay'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { launchBrowser } from '../helpers/browser'
import { startPageServer, type PageServer } from '../helpers/page-server'
import { TEST_WRITE_KEY, startTestRelay } from '../helpers/relay'
import { removeTempDirs } from '../helpers/temp'
import { startTlsProxy, type TlsProxy } from '../helpers/tls-proxy'

const SEGMENT_CDN_HOST = 'cdn.segment.com'
/** Set by a link with `?ajs_aid=`: analytics.js loads its queryString chunk to read it. */
const ANONYMOUS_ID = 'anon-from-link'

/** The seed's four calls (shared/seed: identify, track, group, page), as a page would make them. */
const SEED_CALLS = `
  analytics.identify('userID123', { account_id: '12345678', user_id: 'john.doe@company.com' });
  analytics.track('Order Received', { cost: '$120.00', account_id: '12345678', user_id: 'john.doe@company.com' });
  analytics.group('accountId123', { account_id: '12345678', name: 'ABC Group' });
  analytics.page('orders', { title: 'My Orders', account_id: '12345678', user_id: 'john.doe@company.com' });
`

/** Segment's snippet for our write key, without its initial anonymous `page()`. */
function segmentSnippet(): string {
  const text = snippet.min({ apiKey: TEST_WRITE_KEY, page: false })
  expect(text.split(SEGMENT_CDN_HOST)).toHaveLength(2)
  expect(text).toContain(`"https://${SEGMENT_CDN_HOST}/analytics.js/v1/"`)
  return text
}

/** A page with `script` in its head; `html`: the script is already HTML (a pasted `<script>` tag). */
function html(script: string, options: { html?: boolean } = {}): string {
  const head = options.html ? `${script}<script>${SEED_CALLS}</script>` : `<script>${script}</script>`
  return `<!doctype html><html><head><title>My Orders</title>${head}</head><body>orders</body></html>`
}

let sandbox: Sandbox
let relay: Relay
let browser: BrowserContext
const relayRequests: Array<{ method?: string; url?: string; forwardedProto?: string }> = []
const closers: Array<() => Promise<void>> = []
/** Ids of the events stored before the running test. */
const storedBefore = new Set<string>()

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 })
  relay = await startTestRelay({
    env: { CSB_API_KEY: sandbox.apiKey, CSB_BASE_URL: sandbox.url },
    configFile: { trustProxy: true, delivery: { backoffBaseMs: 50, backoffCapMs: 500, pollIntervalMs: 10 } }
  })
  relay.app.server.on('request', (req) =>
    relayRequests.push({ method: req.method, url: req.url, forwardedProto: req.headers['x-forwarded-proto'] as string | undefined })
  )
  browser = await launchBrowser({ ignoreHTTPSErrors: true })
})

afterAll(async () => {
  await browser?.close()
  for (const close of closers.splice(0)) await close()
  await relay?.close()
  await sandbox?.close()
  removeTempDirs()
})

beforeEach(async () => {
  relayRequests.length = 0
  sandbox.clearRequests()
  for (const e of await relay.store.list({ limit: 100 })) storedBefore.add(e.id)
  // Each test starts from a browser with no analytics.js state (ids, queued events).
  await browser.clearCookies()
  for (const page of browser.pages()) await page.close()
})

async function servePage(script: string, options: { html?: boolean } = {}): Promise<PageServer> {
  const pages = await startPageServer(html(script, options))
  closers.push(() => pages.close())
  return pages
}

/** Opens the page; requests to a host not in `allowed` are blocked and listed. */
async function visit(url: string, allowed: string[]) {
  const page = await browser.newPage()
  const blocked: string[] = []
  const requested: string[] = []
  const errors: string[] = []
  await page.route('**/*', (route) => {
    const target = new URL(route.request().url())
    if (allowed.includes(target.host)) return route.continue()
    blocked.push(target.href)
    return route.abort('blockedbyclient')
  })
  page.on('request', (request) => requested.push(request.url()))
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  page.on('pageerror', (err) => errors.push(String(err)))
  await page.goto(url)
  return { page, blocked, requested, errors }
}

/** The four calls reach CSB as the seed's requests (and nothing else does). */
async function expectSeedRequestsAtCsb(): Promise<void> {
  await sandbox.waitForRequests(4, { timeoutMs: 20_000 })
  await new Promise((r) => setTimeout(r, 300))
  const requests = sandbox.requests()
  expect(requests.map((q) => q.path).sort()).toEqual(['/api/v1_1/account', '/api/v1_1/feature', '/api/v1_1/user', '/api_js/v1_1/page'])
  expect(requests.every((q) => q.status === 200)).toBe(true)
  const body = (p: string) => requests.find((q) => q.path === p)!.body
  expect(body('/api/v1_1/user')).toEqual({ account_id: '12345678', user_id: 'john.doe@company.com' })
  expect(body('/api/v1_1/account')).toEqual({ account_id: '12345678', name: 'ABC Group' })
  expect(body('/api/v1_1/feature')).toEqual(
    expect.objectContaining({ account_id: '12345678', user_id: 'john.doe@company.com', feature_id: 'Order Received', type: 'feature', total: 1 })
  )
  expect(body('/api_js/v1_1/page')).toEqual(
    expect.objectContaining({ account_id: '12345678', user_id: 'john.doe@company.com', type: 'page', name: 'orders', title: 'My Orders', path: '/' })
  )
}

/** What the relay stored during this test came from analytics.js in the page, with the id the link set. */
async function expectStoredFromBrowser(): Promise<void> {
  const mine = (await relay.store.list({ limit: 100 })).filter((e) => !storedBefore.has(e.id))
  expect(mine.map((e) => e.type).sort()).toEqual(['group', 'identify', 'page', 'track'])
  for (const e of mine) {
    expect((e.event.context as { library: { name: string } }).library.name).toBe('analytics.js')
    expect(e.event.anonymousId).toBe(ANONYMOUS_ID)
  }
}

describe('analytics.js from the relay, loaded by Segment\'s snippet', () => {
  it('over http: the snippet with the relay\'s host and _cdn; no request leaves the page\'s and the relay\'s hosts', async () => {
    const relayHost = new URL(relay.url).host
    const script = segmentSnippet().replace(`https://${SEGMENT_CDN_HOST}`, relay.url) + `\nanalytics._cdn = ${JSON.stringify(relay.url)};\n${SEED_CALLS}`
    const pages = await servePage(script)
    expect(new URL(pages.url).host).not.toBe(relayHost)

    const { blocked, requested, errors } = await visit(`${pages.url}/?ajs_aid=${ANONYMOUS_ID}`, [new URL(pages.url).host, relayHost])
    await expectSeedRequestsAtCsb()

    expect(blocked).toEqual([])
    expect(requested.filter((u) => ![new URL(pages.url).host, relayHost].includes(new URL(u).host))).toEqual([])
    expect(errors).toEqual([])
    const gets = relayRequests.filter((r) => r.method === 'GET').map((r) => r.url)
    expect(gets).toEqual(expect.arrayContaining([
      `/analytics.js/v1/${TEST_WRITE_KEY}/analytics.min.js`,
      `/v1/projects/${TEST_WRITE_KEY}/settings`,
      expect.stringMatching(/^\/analytics-next\/bundles\/queryString\.bundle\.[0-9a-f]+\.js$/)
    ]))
    expect(relayRequests.filter((r) => r.method === 'POST').map((r) => r.url).sort()).toEqual(['/v1/g', '/v1/i', '/v1/p', '/v1/t'])
    await expectStoredFromBrowser()
  })

  it('over https behind a TLS proxy with trustProxy: the host change alone; events come back through the proxy', async () => {
    const proxy: TlsProxy = await startTlsProxy(relay.url)
    closers.push(() => proxy.close())
    const proxyHost = new URL(proxy.url).host
    const script = segmentSnippet().replace(SEGMENT_CDN_HOST, proxyHost) + SEED_CALLS
    expect(script).not.toContain('_cdn')
    const pages = await servePage(script)

    const { blocked, requested, errors } = await visit(`${pages.url}/?ajs_aid=${ANONYMOUS_ID}`, [new URL(pages.url).host, proxyHost])
    await expectSeedRequestsAtCsb()

    expect(blocked).toEqual([])
    expect(requested.filter((u) => ![new URL(pages.url).host, proxyHost].includes(new URL(u).host))).toEqual([])
    expect(errors).toEqual([])
    // Everything, the events included, went through the proxy: the settings named its https address.
    expect(proxy.forwarded.filter((f) => f.method === 'POST').map((f) => f.url).sort()).toEqual(['/v1/g', '/v1/i', '/v1/p', '/v1/t'])
    expect(proxy.forwarded.every((f) => f.host === proxyHost)).toBe(true)
    expect(relayRequests.length).toBeGreaterThan(0)
    expect(relayRequests.filter((r) => r.forwardedProto !== 'https')).toEqual([])
    await expectStoredFromBrowser()
  })

  it('the snippet the dashboard shows for a source, its key typed in, pasted into a page, works as it is', async () => {
    const res = await fetch(`${relay.url}/api/browser`)
    expect(res.status).toBe(200)
    const setup = (await res.json()) as { publicUrl: string; sources: Array<{ name: string; writeKeyPlaceholder: string; snippet: string }> }
    expect(setup.publicUrl).toBe(relay.url)
    expect(setup.sources.map((s) => s.name)).toEqual(['env-1'])

    const dashboard = await browser.newPage()
    await dashboard.goto(`${relay.url}/`)
    const shown = dashboard.getByTestId('browser-snippet-env-1')
    await expect.poll(() => shown.innerText()).toContain('WRITE_KEY_OF_env-1')
    expect(await dashboard.getByTestId('browser-csp').innerText()).toBe(`script-src ${relay.url}\nconnect-src ${relay.url}`)
    await dashboard.getByTestId('browser-write-key').fill(TEST_WRITE_KEY)
    await expect.poll(() => shown.innerText()).toContain(`analytics.load("${TEST_WRITE_KEY}")`)
    const pasted = await shown.innerText()
    expect(pasted).not.toContain('WRITE_KEY_OF_')
    // The dashboard checks CSB's key once it has loaded (a post to /api/v1_1/account): let that
    // finish before the page's own requests are counted.
    await expect.poll(() => dashboard.getByTestId('csb-check').innerText(), { timeout: 20_000 }).not.toMatch(/not checked yet|checking/)
    await dashboard.close()
    sandbox.clearRequests()

    const pages = await servePage(pasted, { html: true })
    const relayHost = new URL(relay.url).host
    const { blocked, requested, errors } = await visit(`${pages.url}/?ajs_aid=${ANONYMOUS_ID}`, [new URL(pages.url).host, relayHost])
    await expectSeedRequestsAtCsb()
    expect(blocked).toEqual([])
    expect(requested.filter((u) => ![new URL(pages.url).host, relayHost].includes(new URL(u).host))).toEqual([])
    expect(errors).toEqual([])
    await expectStoredFromBrowser()
  })
})
