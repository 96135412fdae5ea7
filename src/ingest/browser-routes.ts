/**
 * analytics.js from the relay's own origin, so a browser app needs nothing from Segment:
 *
 *   GET /analytics.js/v1/:writeKey/analytics.min.js   the standalone build (what Segment's snippet loads)
 *   GET /analytics-next/bundles/*                      its lazily loaded chunks
 *   GET /v1/projects/:writeKey/settings                settings that send every event to this relay
 *
 * Paths are Segment's CDN's, so the snippet works with only its host changed. The files come
 * from the installed `@segment/analytics-next` (analytics-files.ts). Chunk names carry a hash
 * of their content, so they are cached for a year; the main file's URL never changes, so it is
 * cached briefly and revalidated with its ETag. The package's `.gz` copies are sent to browsers
 * that accept gzip.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { WriteKeys } from './auth'
import { AnalyticsFiles, type AnalyticsFile } from './analytics-files'
import { browserAddress } from './browser-address'
import { browserSettings } from './browser-settings'

export interface BrowserRoutesOptions {
  writeKeys: WriteKeys
  /** The relay's URL as browsers reach it (config `publicUrl`); absent: as each request came in. */
  publicUrl?: string
  /** The files to serve; default: the installed package's. */
  files?: AnalyticsFiles
}

/**
 * How long a browser or proxy may use the main file without asking again: a new analytics.js
 * (after an `npm update` and a restart) reaches pages within this time.
 */
export const MAIN_FILE_MAX_AGE_SECONDS = 300
/** Hashed chunks never change under their name. */
const CHUNK_CACHE_CONTROL = 'public, max-age=31536000, immutable'
const MAIN_CACHE_CONTROL = `public, max-age=${MAIN_FILE_MAX_AGE_SECONDS}`
const JSON_TYPE = 'application/json; charset=utf-8'

/** Adds the routes to the calling plugin's scope (ingest's: its CORS headers apply). */
export function browserRoutes(app: FastifyInstance, options: BrowserRoutesOptions): void {
  const { writeKeys, publicUrl } = options
  const files = options.files ?? new AnalyticsFiles()

  app.get<{ Params: { writeKey: string } }>('/v1/projects/:writeKey/settings', async (request, reply) => {
    const writeKey = request.params.writeKey
    if (writeKeys.sourceOf(writeKey) === undefined) return notFound(reply, 'no source has this write key')
    const settings = browserSettings({ writeKey, ...browserAddress(request, publicUrl) })
    return reply.header('cache-control', 'no-cache').type(JSON_TYPE).send(JSON.stringify(settings))
  })

  app.get<{ Params: { writeKey: string } }>('/analytics.js/v1/:writeKey/analytics.min.js', async (request, reply) => {
    if (writeKeys.sourceOf(request.params.writeKey) === undefined) return notFound(reply, 'no source has this write key')
    return sendFile(request, reply, await files.standalone())
  })

  // The standalone build's `sourceMappingURL` is relative: browser tools ask for it beside the script.
  app.get<{ Params: { writeKey: string } }>('/analytics.js/v1/:writeKey/standalone.js.map', async (request, reply) => {
    const map = files.standaloneMap()
    if (writeKeys.sourceOf(request.params.writeKey) === undefined || !map) return notFound(reply, 'no such analytics.js file')
    return sendFile(request, reply, await map)
  })

  app.get<{ Params: { '*': string } }>('/analytics-next/bundles/*', async (request, reply) => {
    // Only chunk names the package ships are looked up: a path, `..` or any other name is a 404.
    const file = files.chunk(request.params['*'])
    if (!file) return notFound(reply, 'no such analytics.js file')
    return sendFile(request, reply, await file)
  })
}

function notFound(reply: FastifyReply, message: string): FastifyReply {
  // Not cached: a write key added to the configuration works at once.
  return reply.code(404).header('cache-control', 'no-cache').type(JSON_TYPE).send(JSON.stringify({ success: false, error: message }))
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: AnalyticsFile): FastifyReply {
  const gzip = file.gzip !== undefined && acceptsGzip(request.headers['accept-encoding'])
  const variant = gzip ? file.gzip! : file.identity
  reply
    .header('cache-control', file.immutable ? CHUNK_CACHE_CONTROL : MAIN_CACHE_CONTROL)
    .header('etag', variant.etag)
    .header('x-content-type-options', 'nosniff')
  if (file.gzip) addVary(reply, 'Accept-Encoding')
  if (ifNoneMatch(request.headers['if-none-match'], variant.etag)) return reply.code(304).send()
  if (gzip) reply.header('content-encoding', 'gzip')
  return reply.type(file.contentType).send(variant.body)
}

/** Vary may already name Origin (ingest's CORS hook); both must stay. */
function addVary(reply: FastifyReply, field: string): void {
  const current = reply.getHeader('vary')
  reply.header('vary', current ? `${String(current)}, ${field}` : field)
}

/** Whether an `Accept-Encoding` header allows gzip: named (or `*`) with a q-value above 0. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false
  let gzip: number | undefined
  let any: number | undefined
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';').map((s) => s.trim())
    let q = 1
    for (const param of params) {
      const match = /^q\s*=\s*([0-9.]+)$/i.exec(param)
      if (match) q = Number(match[1])
    }
    const name = coding.toLowerCase()
    if (name === 'gzip' || name === 'x-gzip') gzip = q
    else if (name === '*') any = q
  }
  return (gzip ?? any ?? 0) > 0
}

/** Whether an `If-None-Match` header names this ETag (weak or strong), or is `*`. */
export function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || t.replace(/^W\//, '') === etag
  })
}
