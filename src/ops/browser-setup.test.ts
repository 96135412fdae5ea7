import Fastify, { type FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../store'
import type { Store } from '../store/types'
import { browserSetup, snippetFor } from './browser-setup'
import { opsPlugin, type OpsOptions } from './index'

const WRITE_KEY = 'wk_SECRET_browser_24680'
const TOKEN = 'admin-token-browser-13579'

describe('snippetFor', () => {
  it('over https: Segment\'s snippet with the relay\'s host (and path) instead of Segment\'s CDN, no _cdn, no initial page()', () => {
    const text = snippetFor('https://www.example.com/relay', 'WRITE_KEY_OF_web')
    expect(text).toContain('t.src="https://www.example.com/relay/analytics.js/v1/" + key + "/analytics.min.js"')
    expect(text).toContain('analytics.load("WRITE_KEY_OF_web")')
    expect(text).toContain('analytics.SNIPPET_VERSION=')
    expect(text).not.toContain('segment.com')
    expect(text).not.toContain('_cdn')
    expect(text).not.toContain('analytics.page()')
  })

  it('over http: the relay\'s http URL, and analytics._cdn set to it', () => {
    const text = snippetFor('http://10.0.0.5:8080', 'K')
    expect(text).toContain('t.src="http://10.0.0.5:8080/analytics.js/v1/" + key + "/analytics.min.js"')
    expect(text).toContain('analytics._cdn = "http://10.0.0.5:8080"')
    expect(text).not.toContain('https:')
    expect(text).not.toContain('segment.com')
  })
})

describe('browserSetup', () => {
  it('uses publicUrl when set: one snippet per source with a placeholder for its key, CSP entries for the relay\'s origin', () => {
    const setup = browserSetup({ publicUrl: 'https://www.example.com/relay', request: { protocol: 'http', host: '127.0.0.1:8080' }, sourceNames: ['web', 'app'] })!
    expect(setup.publicUrl).toBe('https://www.example.com/relay')
    expect(setup.publicUrlFrom).toBe('configuration')
    expect(setup.csp).toMatchObject({ 'script-src': ['https://www.example.com'], 'connect-src': ['https://www.example.com'] })
    expect(setup.csp.note).toMatch(/nonce|sha256|unsafe-inline/)
    expect(setup.sources.map((s) => [s.name, s.writeKeyPlaceholder])).toEqual([['web', 'WRITE_KEY_OF_web'], ['app', 'WRITE_KEY_OF_app']])
    expect(setup.sources[1]!.snippet).toContain('analytics.load("WRITE_KEY_OF_app")')
    expect(setup.sources[1]!.snippet).toContain('"https://www.example.com/relay/analytics.js/v1/"')
  })

  it('without publicUrl, uses the address the request came to', () => {
    const setup = browserSetup({ request: { protocol: 'http', host: 'relay.internal:8080' }, sourceNames: ['web'] })!
    expect(setup).toMatchObject({ publicUrl: 'http://relay.internal:8080', publicUrlFrom: 'request', csp: { 'connect-src': ['http://relay.internal:8080'] } })
    expect(setup.sources[0]!.snippet).toContain('analytics._cdn = "http://relay.internal:8080"')
  })

  it('names the generated key\'s source when none is configured', () => {
    const setup = browserSetup({ request: { protocol: 'http', host: '127.0.0.1:8080' }, sourceNames: [] })!
    expect(setup.sources.map((s) => s.name)).toEqual(['default'])
  })

  it('keeps a source name from breaking out of the snippet\'s string', () => {
    const setup = browserSetup({ request: { protocol: 'http', host: '127.0.0.1:8080' }, sourceNames: ['we"b </script>'] })!
    expect(setup.sources[0]!.writeKeyPlaceholder).toBe('WRITE_KEY_OF_we_b___script_')
    expect(setup.sources[0]!.snippet).not.toContain('</script>')
  })

  it('is undefined when the request\'s host is not a usable URL and no publicUrl is set', () => {
    expect(browserSetup({ request: { protocol: 'http', host: 'a b' }, sourceNames: [] })).toBeUndefined()
  })
})

describe('GET /api/browser', () => {
  let store: Store
  let app: FastifyInstance
  afterEach(async () => {
    await app?.close()
    await store?.close()
  })

  async function build(config: Record<string, unknown>) {
    store = await openStore(':memory:')
    const options = { registry: new Registry(), store, config, secrets: [WRITE_KEY], adminToken: TOKEN } as OpsOptions
    app = Fastify()
    await app.register(opsPlugin, options)
    await app.ready()
  }

  it('answers with the admin token only, per configured source, and never with a write key', async () => {
    await build({ publicUrl: 'https://relay.example.com', sources: [{ name: 'web', writeKey: '[redacted, 23 chars]' }] })
    expect((await app.inject({ method: 'GET', url: '/api/browser' })).statusCode).toBe(401)
    const res = await app.inject({ method: 'GET', url: '/api/browser', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    const body = res.json() as { publicUrl: string; sources: Array<{ name: string; snippet: string }> }
    expect(body.publicUrl).toBe('https://relay.example.com')
    expect(body.sources.map((s) => s.name)).toEqual(['web'])
    expect(body.sources[0]!.snippet).toContain('"https://relay.example.com/analytics.js/v1/"')
    expect(res.body).not.toContain(WRITE_KEY)
  })

  it('without publicUrl, takes the Host the dashboard was reached at; a Host that is no URL gets 400 naming publicUrl', async () => {
    await build({ sources: [] })
    const auth = { authorization: `Bearer ${TOKEN}` }
    const res = await app.inject({ method: 'GET', url: '/api/browser', headers: { ...auth, host: 'relay.internal:9000' } })
    expect(res.json()).toMatchObject({ publicUrl: 'http://relay.internal:9000', publicUrlFrom: 'request' })
    const bad = await app.inject({ method: 'GET', url: '/api/browser', headers: { ...auth, host: 'a b' } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error).toMatch(/set "publicUrl" \(or CSB_RELAY_PUBLIC_URL\)/)
  })
})
