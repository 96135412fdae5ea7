/**
 * CSB settings given at runtime through the admin API: held events flow once they are set, the
 * settings survive a restart, the key never comes back out, and bad or forbidden changes are
 * refused with the reason.
 */
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { Relay } from '../../src/cli/relay'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { runToExit } from '../helpers/processes'
import { post, startTestRelay } from '../helpers/relay'
import { removeTempDirs, tempDir } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

const API_KEY = 'csb_runtime_key_0123456789'
const running: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.close()
})
afterAll(removeTempDirs)

async function relayOn(db: string, env: Record<string, string> = {}): Promise<Relay> {
  const relay = await startTestRelay({ db, env })
  running.push(relay)
  return relay
}

async function sandbox(): Promise<Sandbox> {
  const s = await startSandbox({ port: 0, apiKey: API_KEY })
  running.push(s)
  return s
}

async function api(relay: Relay, method: string, pathname: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(`${relay.url}/api${pathname}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> }
}

const event = { userId: 'u-1', event: 'Report Built', properties: { account_id: 'acme' } }

describe('PUT /api/csb', () => {
  it('delivers the events held while CSB was not configured, keeps the settings across a restart, and never answers the key', async () => {
    const csb = await sandbox()
    const db = path.join(tempDir(), 'relay.db')
    const relay = await relayOn(db)
    expect((await api(relay, 'GET', '/csb')).json).toEqual({ configured: false, source: null, baseUrl: null, authScheme: null })
    expect((await post(relay, '/v1/track', event)).status).toBe(200)
    const ready = (await (await fetch(`${relay.url}/readyz`)).json()) as { csbConfigured: boolean; csb: string }
    expect(ready.csbConfigured).toBe(false)
    expect(ready.csb).toContain('PUT /api/csb')

    const put = await api(relay, 'PUT', '/csb', { apiKey: API_KEY, baseUrl: csb.url })
    expect(put.status).toBe(200)
    expect(put.json).toEqual({ configured: true, source: 'admin API', baseUrl: csb.url, authScheme: 'bearer' })
    expect(put.text).not.toContain(API_KEY)
    await waitFor('the held event delivered', async () => (await relay.store.counts()).delivered === 1)
    const sent = csb.requests().filter((r) => r.path === '/api/v1_1/feature')
    expect(sent).toHaveLength(1)
    expect(sent[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`)
    expect(((await (await fetch(`${relay.url}/readyz`)).json()) as { csbConfigured: boolean }).csbConfigured).toBe(true)
    const config = await api(relay, 'GET', '/config')
    expect(config.text).not.toContain(API_KEY)
    await relay.close()

    const again = await relayOn(db)
    expect(again.csbState()).toEqual({ configured: true, source: 'admin API', baseUrl: csb.url, authScheme: 'bearer' })
    expect((await post(again, '/v1/track', { ...event, event: 'Seat Added' })).status).toBe(200)
    await waitFor('the next event delivered after the restart', async () => (await again.store.counts()).delivered === 2)
  })

  it('refuses bad settings with the field and the fix, and changes nothing', async () => {
    const relay = await relayOn(path.join(tempDir(), 'relay.db'))
    const cases: Array<[unknown, RegExp]> = [
      [{ baseUrl: 'https://acme.customersuccessbox.com' }, /"apiKey" is required/],
      [{ apiKey: API_KEY }, /"baseUrl" is required/],
      [{ apiKey: API_KEY, baseUrl: 'http://csb.example.com' }, /baseUrl must use https:\/\//],
      [{ apiKey: API_KEY, baseUrl: 'https://acme.customersuccessbox.com', authScheme: 'digest' }, /"authScheme" must be "bearer" or "basic"/],
      [{ apiKey: API_KEY, baseUrl: 'https://acme.customersuccessbox.com', region: 'eu' }, /unknown field "region"; known: apiKey, baseUrl/],
      [['not', 'an', 'object'], /body must be a JSON object/]
    ]
    for (const [body, message] of cases) {
      const answer = await api(relay, 'PUT', '/csb', body)
      expect(answer.status, JSON.stringify(body)).toBe(400)
      expect(answer.json.error).toMatch(message)
      expect(answer.text).not.toContain(API_KEY)
    }
    expect(relay.csbState().configured).toBe(false)
    expect(await relay.store.getMeta('csb.settings')).toBeNull()
  })

  it('refuses to change settings that come from the environment or the config file (409)', async () => {
    const csb = await sandbox()
    const relay = await relayOn(path.join(tempDir(), 'relay.db'), { CSB_API_KEY: API_KEY, CSB_BASE_URL: csb.url })
    expect((await api(relay, 'GET', '/csb')).json).toMatchObject({ configured: true, source: 'configuration', baseUrl: csb.url })
    const answer = await api(relay, 'PUT', '/csb', { apiKey: 'csb_other_key_000000', baseUrl: 'https://acme.customersuccessbox.com' })
    expect(answer.status).toBe(409)
    expect(answer.json.error).toMatch(/come from the environment or the config file/)
    expect(relay.csbState().baseUrl).toBe(csb.url)
  })

  it('with an admin token, needs it', async () => {
    const csb = await sandbox()
    const relay = await relayOn(path.join(tempDir(), 'relay.db'), { CSB_RELAY_ADMIN_TOKEN: 'admin-token-123456' })
    expect((await api(relay, 'PUT', '/csb', { apiKey: API_KEY, baseUrl: csb.url })).status).toBe(401)
    expect((await api(relay, 'PUT', '/csb', { apiKey: API_KEY, baseUrl: csb.url }, 'admin-token-123456')).status).toBe(200)
  })
})

describe('csb-relay csb (the built CLI)', () => {
  const cli = (args: string[], env: Record<string, string> = {}) => runToExit(args, { env })

  it('shows the settings, gives them to a running relay with the key from CSB_API_KEY, and says what is wrong', async () => {
    const csb = await sandbox()
    const relay = await relayOn(path.join(tempDir(), 'relay.db'))
    expect((await post(relay, '/v1/track', event)).status).toBe(200)

    const before = await cli(['csb', '--url', relay.url])
    expect(before.code, before.stderr).toBe(0)
    expect(before.stdout).toMatch(/^CSB is not configured: the relay holds the events it accepts/)

    const noKey = await cli(['csb', 'set', '--base-url', csb.url, '--url', relay.url])
    expect(noKey.code).toBe(2)
    expect(noKey.stderr).toMatch(/set CSB_API_KEY in the environment/)
    const badUrl = await cli(['csb', 'set', '--base-url', 'http://csb.example.com', '--url', relay.url], { CSB_API_KEY: API_KEY })
    expect(badUrl.code).toBe(1)
    expect(badUrl.stderr).toMatch(/the relay answered 400: .*baseUrl must use https:\/\//)

    const set = await cli(['csb', 'set', '--base-url', csb.url, '--url', relay.url], { CSB_API_KEY: API_KEY })
    expect(set.code, set.stderr).toBe(0)
    expect(set.stdout).toContain(`CSB: ${csb.url} (bearer auth), settings from the admin API`)
    expect(set.stdout + set.stderr).not.toContain(API_KEY)
    await waitFor('the held event delivered', async () => (await relay.store.counts()).delivered === 1)
    expect((await cli(['csb', '--url', relay.url])).stdout).toContain(`CSB: ${csb.url} (bearer auth), settings from the admin API`)
  })
})
