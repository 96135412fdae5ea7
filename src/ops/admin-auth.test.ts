import Fastify, { type FastifyInstance } from 'fastify'
import { createHash } from 'node:crypto'
import { Registry } from 'prom-client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { basicAuth } from '../../test/helpers/http'
import { openStore } from '../store'
import type { Store } from '../store/types'
import { hashAdminToken, isAdminTokenHash, isLoopbackAddress } from './admin-auth'
import { opsPlugin, type OpsOptions } from './index'

const TOKEN = 'at_admin-auth-test-token-0123456789'
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('admin access', () => {
  let store: Store
  let app: FastifyInstance

  async function build(extra: Partial<OpsOptions> = {}, trustProxy = false) {
    app = Fastify({ trustProxy })
    const options = { registry: new Registry(), store, config: {}, secrets: [], ...extra }
    await app.register(opsPlugin, options as OpsOptions)
    await app.ready()
  }

  beforeEach(async () => {
    store = await openStore(':memory:')
  })
  afterEach(async () => {
    await app?.close()
    await store.close()
  })

  it('hashes a token as sha256:<hex> of its UTF-8 bytes', () => {
    const hash = hashAdminToken(TOKEN)
    expect(hash).toBe(`sha256:${createHash('sha256').update(TOKEN).digest('hex')}`)
    expect(isAdminTokenHash(hash)).toBe(true)
    expect(isAdminTokenHash(TOKEN)).toBe(false)
    expect(isAdminTokenHash(`${hash}0`)).toBe(false)
  })

  it('knows loopback addresses, IPv4-mapped ones included, from the rest', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a), a).toBe(true)
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '203.0.113.9', '::ffff:10.0.0.1', '', undefined]) expect(isLoopbackAddress(a), String(a)).toBe(false)
  })

  it('with a token known by its hash only, requires it on every /api route, from this machine too', async () => {
    await build({ adminTokenHash: hashAdminToken(TOKEN) })
    const routes = ['/api/overview', '/api/events', '/api/config', '/api/reasons', '/api/csb', '/api/names', '/api/csb-check', '/api/no-such-route']
    for (const url of routes) {
      const none = await app.inject({ url, remoteAddress: '127.0.0.1' })
      expect(none.statusCode, url).toBe(401)
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/)
      expect(none.json().error).toMatch(/CSB_RELAY_ADMIN_TOKEN/)
      for (const wrong of [`${TOKEN}x`, TOKEN.slice(0, -1), hashAdminToken(TOKEN), '']) {
        expect((await app.inject({ url, headers: bearer(wrong) })).statusCode, `${url} ${wrong}`).toBe(401)
      }
      expect((await app.inject({ url, headers: { authorization: basicAuth(TOKEN) } })).statusCode).toBe(401)
    }
    for (const [method, url] of [['PUT', '/api/csb'], ['POST', '/api/replay'], ['POST', '/api/test-event']] as const) {
      expect((await app.inject({ method, url, payload: {} })).statusCode, url).toBe(401)
    }
    expect((await app.inject({ url: '/api/overview', headers: bearer(TOKEN) })).statusCode).toBe(200)
    expect((await app.inject({ url: '/api/overview', headers: { authorization: `bearer  ${TOKEN}` } })).statusCode).toBe(200)
    // The dashboard's page and scripts carry no data: public; the data is under /api/.
    expect((await app.inject('/')).statusCode).toBe(200)
    expect((await app.inject('/assets/api.js')).statusCode).toBe(200)
  })

  it('prefers the kept hash to a configured token it is also given', async () => {
    await build({ adminToken: 'configured-token-value', adminTokenHash: hashAdminToken(TOKEN) })
    expect((await app.inject({ url: '/api/config', headers: bearer('configured-token-value') })).statusCode).toBe(401)
    expect((await app.inject({ url: '/api/config', headers: bearer(TOKEN) })).statusCode).toBe(200)
  })

  describe('without a token', () => {
    const forwarded = [
      { 'x-forwarded-for': '127.0.0.1' },
      { 'x-forwarded-for': '203.0.113.9' },
      { forwarded: 'for=127.0.0.1' },
      { 'x-real-ip': '127.0.0.1' },
      { 'x-forwarded-host': 'relay.example.com' },
      { 'x-forwarded-proto': 'https' }
    ]

    for (const trustProxy of [false, true]) {
      it(`answers this machine only, never a request relayed by a proxy (trustProxy ${trustProxy})`, async () => {
        await build({}, trustProxy)
        expect((await app.inject({ url: '/api/config', remoteAddress: '127.0.0.1' })).statusCode).toBe(200)
        expect((await app.inject({ url: '/api/config', remoteAddress: '::1' })).statusCode).toBe(200)
        for (const remoteAddress of ['203.0.113.9', '10.1.2.3', '::ffff:192.0.2.1']) {
          const res = await app.inject({ url: '/api/config', remoteAddress })
          expect(res.statusCode, remoteAddress).toBe(403)
          expect(res.json().error).toMatch(/only from this machine .*set CSB_RELAY_ADMIN_TOKEN/)
        }
        // A proxy on this machine connects from loopback; what it relays does not get that trust.
        for (const headers of forwarded) {
          const res = await app.inject({ url: '/api/config', remoteAddress: '127.0.0.1', headers })
          expect(res.statusCode, JSON.stringify(headers)).toBe(403)
          const put = await app.inject({ method: 'PUT', url: '/api/csb', remoteAddress: '127.0.0.1', headers, payload: {} })
          expect(put.statusCode, JSON.stringify(headers)).toBe(403)
        }
      })
    }
  })
})
