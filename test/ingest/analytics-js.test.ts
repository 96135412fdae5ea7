/**
 * analytics.js served by a running relay over real HTTP (node:http, so every request header is
 * the test's own): the installed package's bytes, content types, the package's gzip copies,
 * cache headers, ETags and 304s, and 404 for an unknown write key, unknown files and paths that
 * try to leave the package's folder.
 */
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Relay } from '../../src/cli/relay'
import { TEST_WRITE_KEY, startTestRelay } from '../helpers/relay'
import { removeTempDirs } from '../helpers/temp'

const UMD = path.join(path.dirname(require.resolve('@segment/analytics-next/package.json')), 'dist', 'umd')
const STANDALONE = fs.readFileSync(path.join(UMD, 'standalone.js'))
const CHUNK = fs.readdirSync(UMD).find((n) => /^queryString\.bundle\.[0-9a-f]+\.js$/.test(n))!
const MAIN = `/analytics.js/v1/${TEST_WRITE_KEY}/analytics.min.js`
const JS = 'text/javascript; charset=utf-8'

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

let relay: Relay

/** GET (or HEAD) with exactly these headers; the path is sent as written, `..` and `%2F` included. */
function get(rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const { hostname, port } = new URL(relay.url)
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end()
  })
}

beforeAll(async () => {
  relay = await startTestRelay()
})

afterAll(async () => {
  await relay?.close()
  removeTempDirs()
})

describe('GET /analytics.js/v1/:writeKey/analytics.min.js', () => {
  it('serves the installed package\'s standalone build as JavaScript, cached for 5 minutes with an ETag', async () => {
    const res = await get(MAIN)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe(JS)
    expect(res.body.equals(STANDALONE)).toBe(true)
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers['cache-control']).toBe('public, max-age=300')
    expect(res.headers.etag).toMatch(/^"[\w-]{27}"$/)
    expect(res.headers.vary).toBe('Accept-Encoding')
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(Number(res.headers['content-length'])).toBe(STANDALONE.length)
  })

  it('sends the package\'s .gz copy to a browser that accepts gzip, under its own ETag', async () => {
    const plain = await get(MAIN)
    const res = await get(MAIN, { 'accept-encoding': 'gzip, deflate, br, zstd' })
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers['content-type']).toBe(JS)
    expect(res.body.equals(fs.readFileSync(path.join(UMD, 'standalone.js.gz')))).toBe(true)
    expect(zlib.gunzipSync(res.body).equals(STANDALONE)).toBe(true)
    expect(res.body.length).toBeLessThan(STANDALONE.length / 2)
    expect(res.headers.etag).not.toBe(plain.headers.etag)
    expect(res.headers.vary).toBe('Accept-Encoding')
  })

  it.each([
    ['gzip;q=0, deflate', false],
    ['br', false],
    ['identity', false],
    ['*', true],
    ['GZIP;q=0.5', true],
    ['*;q=0, gzip', true],
    ['gzip;q=0, *', false]
  ])('Accept-Encoding "%s": gzip %s', async (acceptEncoding, gzip) => {
    const res = await get(MAIN, { 'accept-encoding': acceptEncoding })
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBe(gzip ? 'gzip' : undefined)
    expect((gzip ? zlib.gunzipSync(res.body) : res.body).equals(STANDALONE)).toBe(true)
  })

  it('answers 304 with no body to If-None-Match naming its ETag (strong, weak, in a list, or *), 200 otherwise', async () => {
    const first = await get(MAIN)
    const etag = first.headers.etag!
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await get(MAIN, { 'if-none-match': ifNoneMatch })
      expect(res.status, ifNoneMatch).toBe(304)
      expect(res.body.length).toBe(0)
      expect(res.headers.etag).toBe(etag)
      expect(res.headers['cache-control']).toBe('public, max-age=300')
    }
    const changed = await get(MAIN, { 'if-none-match': '"an-older-version"' })
    expect(changed.status).toBe(200)
    expect(changed.body.equals(STANDALONE)).toBe(true)

    const gz = await get(MAIN, { 'accept-encoding': 'gzip' })
    const revalidated = await get(MAIN, { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag! })
    expect(revalidated.status).toBe(304)
    expect(revalidated.headers.etag).toBe(gz.headers.etag)
    // The uncompressed copy's tag does not stand for the gzip copy.
    expect((await get(MAIN, { 'accept-encoding': 'gzip', 'if-none-match': etag })).status).toBe(200)
  })

  it('answers HEAD with the headers and no body', async () => {
    const res = await get(MAIN, {}, 'HEAD')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe(JS)
    expect(res.body.length).toBe(0)
  })

  it('serves its source map beside it as JSON', async () => {
    const res = await get(`/analytics.js/v1/${TEST_WRITE_KEY}/standalone.js.map`)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(res.body.toString()).version).toBe(3)
  })

  it('answers 404, not cached and without the key, for a write key no source has', async () => {
    for (const url of ['/analytics.js/v1/wk_nobody_has_this/analytics.min.js', '/analytics.js/v1/wk_nobody_has_this/standalone.js.map']) {
      const res = await get(url)
      expect(res.status, url).toBe(404)
      expect(JSON.parse(res.body.toString())).toEqual({ success: false, error: expect.any(String) })
      expect(res.body.toString()).not.toContain('wk_nobody_has_this')
      expect(res.headers['cache-control']).toBe('no-cache')
    }
    const settings = await get('/v1/projects/wk_nobody_has_this/settings')
    expect(settings.status).toBe(404)
  })
})

describe('GET /analytics-next/bundles/*', () => {
  it('serves a hashed chunk as JavaScript, cached for a year as immutable, gzip when accepted', async () => {
    const bytes = fs.readFileSync(path.join(UMD, CHUNK))
    const res = await get(`/analytics-next/bundles/${CHUNK}`)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe(JS)
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(res.body.equals(bytes)).toBe(true)
    expect(res.headers.etag).toMatch(/^"[\w-]{27}"$/)

    const gz = await get(`/analytics-next/bundles/${CHUNK}`, { 'accept-encoding': 'gzip' })
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(zlib.gunzipSync(gz.body).equals(bytes)).toBe(true)
    expect((await get(`/analytics-next/bundles/${CHUNK}`, { 'if-none-match': res.headers.etag! })).status).toBe(304)

    const map = await get(`/analytics-next/bundles/${CHUNK}.map`)
    expect(map.status).toBe(200)
    expect(map.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(map.headers['cache-control']).toBe('public, max-age=31536000, immutable')
  })

  it('serves every chunk the package ships', async () => {
    const chunks = fs.readdirSync(UMD).filter((n) => /\.bundle\.[0-9a-f]+\.js$/.test(n))
    expect(chunks.length).toBeGreaterThan(3)
    for (const name of chunks) expect((await get(`/analytics-next/bundles/${name}`)).status, name).toBe(200)
  })

  it.each([
    ['an unknown chunk', '/analytics-next/bundles/nothing.bundle.0123456789abcdef0123.js'],
    ['the main file by its package name', '/analytics-next/bundles/standalone.js'],
    ['the UMD build', '/analytics-next/bundles/index.js'],
    ['a .gz file by name', `/analytics-next/bundles/${CHUNK}.gz`],
    ['a folder', '/analytics-next/bundles/'],
    ['a path up and out', '/analytics-next/bundles/../../package.json'],
    ['an encoded path up and out', '/analytics-next/bundles/..%2F..%2Fpackage.json'],
    ['encoded dots', '/analytics-next/bundles/%2e%2e/%2e%2e/%2e%2e/package.json'],
    ['an absolute path', '/analytics-next/bundles//etc/passwd'],
    ['a chunk in a sub-folder', `/analytics-next/bundles/x/${CHUNK}`]
  ])('answers 404 for %s', async (_what, url) => {
    const res = await get(url)
    expect(res.status).toBe(404)
    expect(res.body.toString()).not.toContain('"name"')
    expect(res.body.toString()).not.toContain('root:')
  })
})
