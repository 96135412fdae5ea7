/**
 * Invariant 6: the CSB API key, the write keys, the webhook shared secret and the admin token
 * never appear in /metrics, the logs, the dashboard page, admin API answers or error bodies. The
 * relay runs as a process at LOG_LEVEL=debug with deliveries that succeed, fail for good (401,
 * 400) and retry (500), and with /v1/webhook requests keyed in the URL (`?writeKey=`) and signed.
 * An admin token the relay generated is printed once, on its own line, and appears nowhere else:
 * not at that start, nor at a later one that knows only its hash, nor in the store's files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHmac } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { startRelayProcess, type RelayProcess } from '../helpers/processes'
import { removeTempDirs, tempDir } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

const API_KEY = 'csbKEY_9f8e7d6c5b4a3f2e1d0c'
const WRITE_KEYS = ['wkSECRET_alpha_1234', 'wkSECRET_beta_5678']
const TOKEN = 'adminTOKEN_secret_777'
/** A source for Segment's Webhooks destinations, from the config file: a write key and a shared secret. */
const WEBHOOK_SOURCE = { name: 'segment-webhook', writeKey: 'wkSECRET_webhook_4321', sharedSecret: 'sharedSECRET_webhook_999' }
/** A key no source has, sent in a URL: the relay cannot scrub it by value, so it must never be written at all. */
const STRAY_URL_KEY = 'strayKEY_in_url_31337'
const SECRETS = [API_KEY, ...WRITE_KEYS, WEBHOOK_SOURCE.writeKey, WEBHOOK_SOURCE.sharedSecret, TOKEN, STRAY_URL_KEY]
/** Encodings a secret could leak in. */
const FORMS = SECRETS.flatMap((s) => [s, encodeURIComponent(s), Buffer.from(`${s}:`).toString('base64').replace(/=+$/, '')])

let sandbox: Sandbox
let relay: RelayProcess
const collected: Array<{ what: string; text: string }> = []

function basic(key: string) {
  return `Basic ${Buffer.from(`${key}:`).toString('base64')}`
}

async function grab(what: string, url: string, init: RequestInit = {}) {
  const res = await fetch(`${relay.url}${url}`, init)
  const text = await res.text()
  collected.push({ what: `${what} (${res.status})`, text })
  return { status: res.status, text }
}

const admin = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${TOKEN}`, ...extra })

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, apiKey: API_KEY })
  sandbox.setFaults({
    rules: [
      { match: { path: '/api/v1_1/feature', body: { feature_id: 'Refused' } }, status: 401, message: `key ${API_KEY} refused` },
      { match: { path: '/api/v1_1/feature', body: { feature_id: 'Broken' } }, status: 500 }
    ]
  })
  const dir = tempDir()
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ sources: [WEBHOOK_SOURCE] }))
  relay = await startRelayProcess(['--db', path.join(dir, 'relay.db'), '--config', path.join(dir, 'config.json')], {
    env: {
      CSB_API_KEY: API_KEY,
      CSB_BASE_URL: sandbox.url,
      CSB_RELAY_WRITE_KEYS: WRITE_KEYS.join(','),
      CSB_RELAY_ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: 'debug'
    }
  })
})

afterAll(async () => {
  await relay?.stop()
  await sandbox?.close()
  removeTempDirs()
})

describe('secrets', () => {
  it('appear nowhere: metrics, logs, dashboard, admin answers, error bodies', async () => {
    const send = (key: string, body: unknown) =>
      grab('ingest', '/v1/batch', { method: 'POST', headers: { authorization: basic(key), 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const ok = await send(WRITE_KEYS[0], {
      batch: [
        { type: 'identify', userId: 'u1', traits: { account_id: 'acme' } },
        { type: 'track', userId: 'u1', event: 'Fine', properties: { account_id: 'acme' } },
        { type: 'track', userId: 'u2', event: 'Refused', properties: { account_id: 'acme' } },
        { type: 'track', userId: 'u3', event: 'Broken', properties: { account_id: 'acme' } },
        { type: 'track', userId: 'u4', event: 'No Account' }
      ]
    })
    expect(ok.status).toBe(200)
    await send(WRITE_KEYS[1], { batch: [{ type: 'group', userId: 'u1', groupId: 'acme', traits: { name: 'Acme' } }] })

    // Error bodies of the tracking API.
    expect((await send('not-a-key', { batch: [] })).status).toBe(401)
    expect((await send(WRITE_KEYS[0], { batch: [{ type: 'track', userId: 'x' }] })).status).toBe(400)
    await grab('ingest body key', '/v1/track', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ writeKey: `${WRITE_KEYS[0]}x`, userId: 'u', event: 'E' }) })
    await grab('settings, unknown key', `/v1/projects/${WRITE_KEYS[0]}x/settings`)

    // /v1/webhook: the key in the URL (right and wrong), signed requests (right and wrong secret), other methods.
    const hook = (what: string, query: string, event: unknown, headers: Record<string, string> = {}) =>
      grab(what, `/v1/webhook${query}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(event) })
    const signature = (secret: string, event: unknown) => createHmac('sha1', secret).update(JSON.stringify(event)).digest('hex')
    const hooked = { type: 'identify', userId: 'u5', messageId: 'hook-1', traits: { account_id: 'acme' } }
    expect((await hook('webhook ?writeKey=', `?writeKey=${WRITE_KEYS[1]}`, hooked)).status).toBe(200)
    expect((await hook('webhook wrong ?writeKey=', `?writeKey=${WRITE_KEYS[1]}x`, hooked)).status).toBe(401)
    expect((await hook('webhook signing source key only', `?writeKey=${WEBHOOK_SOURCE.writeKey}`, hooked)).status).toBe(401)
    const signedEvent = { ...hooked, messageId: 'hook-2' }
    expect((await hook('webhook signed', '', signedEvent, { 'x-signature': signature(WEBHOOK_SOURCE.sharedSecret, signedEvent) })).status).toBe(200)
    expect((await hook('webhook wrong secret', '', signedEvent, { 'x-signature': signature(`${WEBHOOK_SOURCE.sharedSecret}x`, signedEvent) })).status).toBe(401)
    expect((await hook('webhook bad event', `?writeKey=${WRITE_KEYS[1]}`, [hooked, { type: 'track', userId: 'u' }])).status).toBe(400)
    expect((await grab('webhook GET', `/v1/webhook?writeKey=${WRITE_KEYS[1]}`)).status).toBe(405)
    expect((await hook('webhook stray ?writeKey=', `?writeKey=${STRAY_URL_KEY}`, hooked)).status).toBe(401)
    expect((await grab('webhook GET, stray key', `/v1/webhook/?writeKey=${STRAY_URL_KEY}`)).status).toBe(405)

    await waitFor(
      async () => {
        const o = JSON.parse((await grab('overview', '/api/overview?period=1h', { headers: admin() })).text)
        return o.totals.delivered >= 3 && o.totals.dead >= 2 && o.totals.retrying >= 1
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'deliveries, dead letters and a retry' }
    )

    // The dashboard page and every admin answer, including each event with its samples.
    await grab('dashboard', '/')
    await grab('metrics', '/metrics')
    await grab('healthz', '/healthz')
    await grab('readyz', '/readyz')
    const events = JSON.parse((await grab('events', '/api/events?limit=100', { headers: admin() })).text).events as Array<{ id: string }>
    expect(events.length).toBeGreaterThanOrEqual(6)
    for (const e of events) await grab(`event ${e.id}`, `/api/events/${e.id}`, { headers: admin() })
    await grab('dead', '/api/events?status=dead', { headers: admin() })
    await grab('reasons', '/api/reasons', { headers: admin() })
    await grab('config', '/api/config', { headers: admin() })
    await grab('csb-check', '/api/csb-check', { headers: admin() })
    const json = admin({ 'content-type': 'application/json' })
    await grab('tester', '/api/test-event', { method: 'POST', headers: json, body: JSON.stringify({ event: { type: 'track', userId: 'u1', event: 'Tried', properties: { account_id: 'acme' } } }) })
    await grab('tester send', '/api/test-event', { method: 'POST', headers: json, body: JSON.stringify({ event: { type: 'track', userId: 'u1', event: 'Refused', properties: { account_id: 'acme' } }, send: true }) })
    // Admin error bodies.
    expect((await grab('admin without token', '/api/config')).status).toBe(401)
    expect((await grab('admin wrong token', '/api/config', { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401)
    expect((await grab('unknown event', '/api/events/12345678', { headers: admin() })).status).toBe(404)
    expect((await grab('bad replay', '/api/replay', { method: 'POST', headers: json, body: '{}' })).status).toBe(400)
    expect((await grab('bad tester', '/api/test-event', { method: 'POST', headers: json, body: '{"event":1}' })).status).toBe(400)
    expect((await grab('bad json', '/api/replay', { method: 'POST', headers: json, body: '{nope' })).status).toBe(400)

    // The CSB requests themselves carried the key (that is how CSB authenticates).
    expect(sandbox.requests().some((r) => r.headers.authorization === `Bearer ${API_KEY}`)).toBe(true)

    // The logs: wait until the failures are logged, then stop the relay so everything is flushed.
    await waitFor(() => /delivery failed; dead-lettered/.test(relay.stdout()) && /delivery failed; will retry/.test(relay.stdout()), { what: 'failure log lines' })
    await relay.stop()
    const logs = relay.stdout() + relay.stderr()
    collected.push({ what: 'logs', text: logs })
    const failures = logs.split('\n').filter((l) => l.includes('"msg":"delivery failed; dead-lettered"')).map((l) => JSON.parse(l))
    expect(failures.map((f) => f.reason).join('\n')).toMatch(/HTTP 401/)
    expect(failures.every((f) => typeof f.reason === 'string' && f.reason.length > 0)).toBe(true)

    const leaks: string[] = []
    for (const { what, text } of collected) for (const form of FORMS) if (text.includes(form)) leaks.push(`${what} contains ${form.slice(0, 8)}…`)
    expect(leaks).toEqual([])
    expect(collected.length).toBeGreaterThan(20)
  })
})

describe('a generated admin token', () => {
  const TOKEN_LINE = /^Admin token: (\S+)$/m

  /** Admin calls with the token right and wrong, ingest with it as a write key, /metrics: what each answers. */
  async function exercise(url: string, token: string): Promise<Array<{ what: string; text: string }>> {
    const seen: Array<{ what: string; text: string }> = []
    const get = async (what: string, pathname: string, init: RequestInit = {}) => {
      const res = await fetch(`${url}${pathname}`, init)
      seen.push({ what: `${what} (${res.status})`, text: await res.text() })
      return res.status
    }
    const auth = (t: string) => ({ authorization: `Bearer ${t}` })
    expect(await get('ingest', '/v1/track', { method: 'POST', headers: { authorization: basic(WRITE_KEYS[0]), 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'u1', event: 'E', properties: { account_id: 'acme' } }) })).toBe(200)
    expect(await get('ingest, token as write key', '/v1/track', { method: 'POST', headers: { authorization: basic(token), 'content-type': 'application/json' }, body: '{"userId":"u","event":"E"}' })).toBe(401)
    for (const route of ['/api/overview?period=1h', '/api/events?limit=50', '/api/config', '/api/reasons', '/api/csb', '/api/csb-check', '/api/names']) {
      expect(await get(`admin ${route}`, route, { headers: auth(token) }), route).toBe(200)
      expect(await get(`admin ${route}, wrong token`, route, { headers: auth(`${token.slice(0, -1)}x`) }), route).toBe(401)
    }
    expect(await get('admin, no token', '/api/config')).toBe(401)
    expect(await get('replay, wrong token', '/api/replay', { method: 'POST', headers: { ...auth(`${token}x`), 'content-type': 'application/json' }, body: '{"all":true}' })).toBe(401)
    await get('metrics', '/metrics')
    await get('dashboard', '/')
    return seen
  }

  it('is printed once, at the start that made it, and appears nowhere else: logs, metrics, answers, the store', async () => {
    const dir = tempDir()
    const args = ['--db', path.join(dir, 'relay.db')]
    const env = { CSB_RELAY_WRITE_KEYS: WRITE_KEYS.join(','), LOG_LEVEL: 'debug' }
    const first = await startRelayProcess([...args, '--new-admin-token'], { env })
    const token = first.stdout().match(TOKEN_LINE)?.[1]
    expect(token).toMatch(/^at_[A-Za-z0-9_-]{43}$/)
    const seen = await exercise(first.url, token!)
    await first.stop()
    // Everything the relay wrote, but the one line that prints the token.
    seen.push({ what: 'logs', text: (first.stdout() + first.stderr()).replace(`Admin token: ${token}`, '') })
    expect((first.stdout() + first.stderr()).split(token!).length - 1).toBe(1)

    // A later start knows the hash only: it cannot scrub the token by value, and must never write it.
    const later = await startRelayProcess(args, { env })
    expect(later.stdout()).not.toMatch(TOKEN_LINE)
    seen.push(...(await exercise(later.url, token!)))
    await later.stop()
    seen.push({ what: 'logs, later start', text: later.stdout() + later.stderr() })
    for (const file of fs.readdirSync(dir).filter((f) => f.startsWith('relay.db'))) {
      seen.push({ what: `store file ${file}`, text: fs.readFileSync(path.join(dir, file)).toString('latin1') })
    }

    const forms = [token!, encodeURIComponent(token!), Buffer.from(`${token}:`).toString('base64').replace(/=+$/, '')]
    const leaks = seen.flatMap(({ what, text }) => forms.filter((form) => text.includes(form)).map((form) => `${what} contains ${form.slice(0, 8)}…`))
    expect(leaks).toEqual([])
    expect(seen.length).toBeGreaterThan(40)
  })
})
