/**
 * The settings analytics.js loads from the relay: they name no Segment host, and they point the
 * browser at the relay as the browser reaches it: the configured `publicUrl`, else the request's
 * own host and scheme, taken from X-Forwarded-Host / X-Forwarded-Proto only with `trustProxy`.
 * Also the two settings' validation in the config loader.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, afterAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/cli/config'
import type { Relay } from '../../src/cli/relay'
import { TEST_WRITE_KEY, startTestRelay, type TestRelayOptions } from '../helpers/relay'
import { removeTempDirs, tempDir } from '../helpers/temp'

const running: Relay[] = []
async function start(options: TestRelayOptions = {}) {
  const relay = await startTestRelay(options)
  running.push(relay)
  return relay
}
afterEach(async () => { for (const r of running.splice(0)) await r.close() })
afterAll(removeTempDirs)

const FORWARDED = { 'x-forwarded-host': 'www.example.com', 'x-forwarded-proto': 'https' }

async function settingsOf(relay: Relay, headers: Record<string, string> = {}) {
  const res = await fetch(`${relay.url}/v1/projects/${TEST_WRITE_KEY}/settings`, { headers })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
  expect(res.headers.get('cache-control')).toBe('no-cache')
  return (await res.json()) as { integrations: Record<string, { apiHost: string; protocol: string; apiKey: string }> } & Record<string, unknown>
}

describe('GET /v1/projects/:writeKey/settings', () => {
  it('names no Segment host and turns off everything that would load code or send elsewhere', async () => {
    const relay = await start()
    const settings = await settingsOf(relay)
    expect(JSON.stringify(settings)).not.toMatch(/segment\.(io|com)/)
    expect(Object.keys(settings.integrations)).toEqual(['Segment.io'])
    expect(settings).toMatchObject({
      metrics: { sampleRate: 0 },
      remotePlugins: [],
      enabledMiddleware: {},
      middlewareSettings: {},
      legacyVideoPluginsEnabled: false,
      plan: {}
    })
    const host = new URL(relay.url).host
    expect(settings.integrations['Segment.io']).toMatchObject({ apiKey: TEST_WRITE_KEY, apiHost: `${host}/v1`, protocol: 'http' })
  })

  it('without trustProxy, ignores X-Forwarded-Host and X-Forwarded-Proto', async () => {
    const relay = await start()
    const settings = await settingsOf(relay, FORWARDED)
    expect(settings.integrations['Segment.io']).toMatchObject({ apiHost: `${new URL(relay.url).host}/v1`, protocol: 'http' })
  })

  it('with trustProxy, points the browser at the host and scheme the proxy forwards', async () => {
    const relay = await start({ configFile: { trustProxy: true } })
    expect(relay.config.trustProxy).toBe(true)
    const settings = await settingsOf(relay, FORWARDED)
    expect(settings.integrations['Segment.io']).toMatchObject({ apiHost: 'www.example.com/v1', protocol: 'https' })
    // A request that did not come through the proxy still gets its own address.
    const direct = await settingsOf(relay)
    expect(direct.integrations['Segment.io']).toMatchObject({ apiHost: `${new URL(relay.url).host}/v1`, protocol: 'http' })
  })

  it('with publicUrl, points the browser there (path included), whatever the request says', async () => {
    const relay = await start({ configFile: { publicUrl: 'https://www.example.com/relay/', trustProxy: true } })
    for (const headers of [{}, FORWARDED]) {
      const settings = await settingsOf(relay, headers)
      expect(settings.integrations['Segment.io']).toMatchObject({ apiHost: 'www.example.com/relay/v1', protocol: 'https' })
    }
  })

  it('takes CSB_RELAY_PUBLIC_URL over the config file\'s publicUrl', async () => {
    const relay = await start({ env: { CSB_RELAY_PUBLIC_URL: 'http://10.0.0.5:8080' }, configFile: { publicUrl: 'https://www.example.com' } })
    expect(relay.config.publicUrl).toBe('http://10.0.0.5:8080')
    const settings = await settingsOf(relay)
    expect(settings.integrations['Segment.io']).toMatchObject({ apiHost: '10.0.0.5:8080/v1', protocol: 'http' })
  })
})

describe('publicUrl and trustProxy in the config loader', () => {
  const withFile = (file: Record<string, unknown>) => {
    const configFile = path.join(tempDir(), 'config.json')
    fs.writeFileSync(configFile, JSON.stringify(file))
    return loadConfig({ argv: ['--config', configFile], env: {} })
  }

  it('defaults: no publicUrl, trustProxy off', () => {
    const config = loadConfig({ env: {} })
    expect(config.publicUrl).toBeUndefined()
    expect(config.trustProxy).toBe(false)
  })

  it('keeps a public URL without its trailing slash', () => {
    expect(withFile({ publicUrl: 'https://relay.example.com/' }).publicUrl).toBe('https://relay.example.com')
    expect(withFile({ publicUrl: 'https://www.example.com/a/relay//' }).publicUrl).toBe('https://www.example.com/a/relay')
  })

  it.each([
    ['relay.example.com', /"publicUrl" must be the relay's URL as browsers reach it/],
    ['ftp://relay.example.com', /"publicUrl" must start with https:\/\/ or http:\/\//],
    ['https://relay.example.com/?a=1', /"publicUrl" must have no user, password, query or fragment/],
    ['https://user:pw@relay.example.com', /"publicUrl" must have no user, password/],
    [42, /"publicUrl" must be the relay's URL/]
  ])('refuses publicUrl %j, naming the setting and the form it needs', (publicUrl, message) => {
    expect(() => withFile({ publicUrl })).toThrow(ConfigError)
    expect(() => withFile({ publicUrl })).toThrow(message)
    expect(() => withFile({ publicUrl })).toThrow(/e\.g\. "https:\/\/relay\.example\.com"/)
  })

  it('names CSB_RELAY_PUBLIC_URL when the bad value comes from the environment', () => {
    expect(() => loadConfig({ env: { CSB_RELAY_PUBLIC_URL: 'relay:8080' } })).toThrow(/^CSB_RELAY_PUBLIC_URL must start with https:\/\//)
  })

  it('refuses a trustProxy that is not true or false', () => {
    expect(() => withFile({ trustProxy: 'yes' })).toThrow(/"trustProxy" must be true \(behind a proxy that sets X-Forwarded-Host\/-Proto\/-For\) or false, got "yes"/)
    expect(withFile({ trustProxy: true }).trustProxy).toBe(true)
  })
})
