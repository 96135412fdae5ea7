import fs from 'node:fs'
import path from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from '../../test/helpers/temp'
import { ASSETS_PREFIX, CONTENT_SECURITY_POLICY, DASHBOARD_DIR, dashboardPlugin, readDashboardFiles } from './dashboard'

const TYPES: Record<string, RegExp> = { '.html': /^text\/html; charset=utf-8$/, '.css': /^text\/css; charset=utf-8$/, '.js': /^text\/javascript; charset=utf-8$/ }

describe('dashboard files', () => {
  let app: FastifyInstance
  const names = fs.readdirSync(DASHBOARD_DIR)

  beforeAll(async () => {
    app = Fastify()
    await app.register(dashboardPlugin)
  })
  afterAll(async () => {
    await app.close()
    removeTempDirs()
  })

  it('serves the page at / and every script and stylesheet under /assets/, each with its content type, the CSP and no caching', async () => {
    expect(names).toContain('index.html')
    expect(names.filter((n) => n.endsWith('.js')).length).toBeGreaterThan(1)
    for (const name of names) {
      const url = name === 'index.html' ? '/' : `${ASSETS_PREFIX}${name}`
      const res = await app.inject(url)
      expect(res.statusCode, url).toBe(200)
      expect(res.headers['content-type'], url).toMatch(TYPES[path.extname(name)])
      expect(res.headers['content-security-policy'], url).toBe(CONTENT_SECURITY_POLICY)
      expect(res.headers['x-content-type-options'], url).toBe('nosniff')
      expect(res.headers['cache-control'], url).toBe('no-store')
      expect(res.body, url).toBe(fs.readFileSync(path.join(DASHBOARD_DIR, name), 'utf8'))
    }
    expect((await app.inject(`${ASSETS_PREFIX}nope.js`)).statusCode).toBe(404)
    expect((await app.inject(`${ASSETS_PREFIX}index.html`)).statusCode).toBe(404)
  })

  it("has a CSP without 'unsafe-inline' or 'unsafe-eval': scripts and styles come from the relay only", async () => {
    const csp = (await app.inject('/')).headers['content-security-policy'] as string
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).not.toContain('unsafe-eval')
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("style-src 'self'")
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("connect-src 'self'")
  })

  it('has no inline script, style, style attribute or event-handler attribute, and every file it links exists', () => {
    const html = fs.readFileSync(path.join(DASHBOARD_DIR, 'index.html'), 'utf8')
    expect(html).not.toMatch(/<style/i)
    expect(html).not.toMatch(/\sstyle=/i)
    expect(html).not.toMatch(/\son[a-z]+=/i)
    expect(html).not.toMatch(/javascript:/i)
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)]
    expect(scripts.length).toBeGreaterThan(0)
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/assets\/[\w-]+\.js"/)
      expect(body.trim()).toBe('')
    }
    const linked = [...html.matchAll(/(?:src|href)="\/assets\/([\w.-]+)"/g)].map((m) => m[1])
    expect(linked.sort()).toEqual(['dashboard.css', 'dashboard.js'])
    for (const name of linked) expect(names).toContain(name)
  })

  it('marks every script // @ts-check (npm run typecheck checks them) and imports only files of its own folder', () => {
    for (const name of names.filter((n) => n.endsWith('.js'))) {
      const text = fs.readFileSync(path.join(DASHBOARD_DIR, name), 'utf8')
      expect(text.startsWith('// @ts-check\n'), name).toBe(true)
      for (const [, from] of text.matchAll(/^import .* from '([^']+)'$/gm)) {
        expect(from, name).toMatch(/^\.\/[\w-]+\.js$/)
        expect(names, name).toContain(from.slice(2))
      }
    }
  })

  it('fails at start, naming the fix, when the files were not copied', () => {
    const dir = tempDir('csb-relay-dashboard-')
    expect(() => readDashboardFiles(path.join(dir, 'missing'))).toThrow(/npm run build/)
    fs.writeFileSync(path.join(dir, 'dashboard.js'), '')
    expect(() => readDashboardFiles(dir)).toThrow(/index\.html is missing .*npm run build/)
  })
})
