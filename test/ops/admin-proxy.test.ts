/**
 * A relay on loopback with no admin token answers /api/ for this machine only. A reverse proxy
 * on this machine connects from loopback too: what it relays must not borrow that trust,
 * whether `trustProxy` is on (X-Forwarded-* describe the client) or off (they are ignored).
 * Through the built relay, behind the TLS proxy the browser tests use.
 */
import { afterAll, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import { basicAuth } from '../helpers/http'
import { startRelayProcess } from '../helpers/processes'
import { removeTempDirs } from '../helpers/temp'
import { startTlsProxy } from '../helpers/tls-proxy'

const WRITE_KEY = 'wk_admin_proxy_test'
const CA = fs.readFileSync(path.resolve(__dirname, '../fixtures/tls/loopback.crt'))

/** A request through the proxy (its certificate is the test fixture's, trusted here alone). */
function throughProxy(url: string, method = 'GET', body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const headers: Record<string, string> = payload ? { 'content-type': 'application/json', authorization: basicAuth(WRITE_KEY) } : {}
    const req = https.request(url, { method, ca: CA, headers }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => { text += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on('error', reject)
    req.end(payload)
  })
}

afterAll(() => removeTempDirs())

describe('admin API without a token, behind a proxy on this machine', () => {
  for (const trustProxy of [false, true]) {
    it(`answers clients on this machine, and nothing the proxy relays (trustProxy ${trustProxy})`, async () => {
      const relay = await startRelayProcess({ config: { trustProxy }, args: ['--host', '127.0.0.1'], env: { CSB_RELAY_WRITE_KEYS: WRITE_KEY } })
      const proxy = await startTlsProxy(relay.url)
      try {
        expect(relay.stdout()).toMatch(/Admin access: from this machine only, no token/)
        if (trustProxy) await relay.waitForOutput(/trustProxy is on and there is no admin token/)
        expect((await fetch(`${relay.url}/api/config`)).status).toBe(200)

        const viaProxy = await throughProxy(`${proxy.url}/api/config`)
        expect(viaProxy.status).toBe(403)
        expect(viaProxy.text).toMatch(/only from this machine .*not through a proxy.*CSB_RELAY_ADMIN_TOKEN/)
        expect((await throughProxy(`${proxy.url}/api/csb`, 'PUT', { apiKey: 'k', baseUrl: 'https://evil.example.com' })).status).toBe(403)
        // A header a client writes itself does not make it local either.
        const spoofed: Array<Record<string, string>> = [{ 'x-forwarded-for': '127.0.0.1' }, { forwarded: 'for=127.0.0.1' }]
        for (const header of spoofed) {
          expect((await fetch(`${relay.url}/api/config`, { headers: header })).status, JSON.stringify(header)).toBe(403)
        }
        // The proxy reached the relay (the tracking API does not depend on where a client is).
        expect((await throughProxy(`${proxy.url}/v1/track`, 'POST', { userId: 'u1', event: 'Through The Proxy' })).status).toBe(200)
        expect(proxy.forwarded.map((f) => f.url)).toEqual(['/api/config', '/api/csb', '/v1/track'])
      } finally {
        await proxy.close()
        await relay.stop()
      }
    })
  }
})
