/**
 * The Segment tracking API as a fastify plugin (its own encapsulated scope: its body parser,
 * CORS headers and error answers apply to its routes only).
 *
 * One request: read the body (limits, gzip) → write key (Basic header, else body) → parse
 * JSON once → backpressure → validate and normalise → one `store.enqueue` call, which
 * resolves after commit → 200. Every refusal is a 4xx whose body names the problem.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { backlogOf, type EnqueueResult, type NewEvent, type Store } from '../store/types'
import { WRITE_KEY_HELP, WriteKeys, writeKeyFromAuthorization, type IngestSource } from './auth'
import { BacklogGate } from './backlog-gate'
import { readBody } from './body'
import { browserSettings } from './browser-settings'
import { IngestError } from './errors'
import { ROUTES, eventsOfRequest, routeOf, writeKeyInBody, type Route } from './events'
import type { IngestObserver, IngestResult } from './observer'

export interface IngestLimits {
  maxEventBytes: number
  maxRequestBytes: number
  maxBatchEvents: number
  maxBacklog: number
  backpressureRetryAfterSeconds: number
}

export interface IngestOptions {
  store: Store
  /** Accepted write keys and the source name each records. */
  sources: readonly IngestSource[]
  limits: IngestLimits
  observer?: IngestObserver
  /** How long a backlog count from the store is reused (ms). Default 1000. */
  backlogRefreshMs?: number
}

const SUCCESS = '{"success":true}'
const JSON_TYPE = 'application/json; charset=utf-8'
const CORS_DEFAULT_HEADERS = 'Content-Type, Authorization, X-Retry-Count'
/** A UTF-8 byte order mark some HTTP clients put before JSON text. */
const BOM = 0xfeff

function errorBody(message: string): string {
  return JSON.stringify({ success: false, error: message })
}

function parseJson(raw: Buffer): unknown {
  let text = raw.toString('utf8')
  if (text.charCodeAt(0) === BOM) text = text.slice(1)
  if (text.trim() === '') throw new IngestError(400, 'empty body: send a JSON event')
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new IngestError(400, `invalid JSON: ${(err as Error).message.slice(0, 200)}`)
  }
}

/** Reports accepted and duplicate events per type: one call per (type, result), not per event. */
function report(observer: IngestObserver, events: NewEvent[], results: EnqueueResult[]): void {
  const counts = new Map<string, number>()
  for (let i = 0; i < events.length; i++) {
    const key = `${events[i]!.type}\u0000${results[i]!.duplicate ? 'duplicate' : 'accepted'}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  for (const [key, count] of counts) {
    const [type, result] = key.split('\u0000') as [string, IngestResult]
    observer.ingested?.(type, result, count)
  }
}

export const ingestPlugin: FastifyPluginAsync<IngestOptions> = async (app: FastifyInstance, options) => {
  const { store, limits, observer } = options
  const keys = new WriteKeys(options.sources)
  const gate = new BacklogGate(
    async () => {
      const started = performance.now()
      const counts = await store.counts()
      observer?.storeLatency?.('counts', (performance.now() - started) / 1000)
      return backlogOf(counts)
    },
    limits.maxBacklog,
    options.backlogRefreshMs ?? 1000,
    (err) => app.log.warn({ err }, 'backlog count failed; using the last known backlog')
  )

  // Bodies are read as bytes here and parsed once in the handler, whatever the content type.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (request, payload, done) => {
    readBody(request.headers, payload, limits.maxRequestBytes).then(
      (body) => done(null, body),
      (err: Error) => done(err, undefined)
    )
  })

  // CORS: browsers post from any site that embeds analytics.js.
  app.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin
    if (origin) reply.header('access-control-allow-origin', origin).header('vary', 'Origin')
    else reply.header('access-control-allow-origin', '*')
    done()
  })
  app.options('/v1/*', (request, reply) => {
    const requested = request.headers['access-control-request-headers']
    reply
      .code(204)
      .header('access-control-allow-methods', 'POST, GET, OPTIONS')
      .header('access-control-allow-headers', requested || CORS_DEFAULT_HEADERS)
      .header('access-control-max-age', '86400')
      .send()
  })

  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    // IngestErrors carry their status; so do fastify's own 4xx errors (e.g. a bad URL).
    const status = err.statusCode
    if (status === undefined || status < 400 || (status >= 500 && !(err instanceof IngestError))) {
      request.log.error({ err }, 'ingest failed')
      return reply.code(500).type(JSON_TYPE).send(errorBody('internal error; retry later'))
    }
    if (status < 500) {
      const route = routeOf((request.params as { kind?: string } | undefined)?.kind ?? '')
      observer?.ingested?.(route && route !== 'batch' ? route : 'unknown', status === 429 ? 'throttled' : 'rejected', 1)
      request.log.debug({ status, reason: err.message }, 'ingest refused a request')
    }
    if (err instanceof IngestError && err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds))
    return reply.code(status).type(JSON_TYPE).send(errorBody(err.message))
  })

  async function ingest(route: Route, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const receivedAt = new Date()
    const raw = request.body as Buffer | undefined
    if (!raw || raw.length === 0) throw new IngestError(400, 'empty body: send a JSON event')

    const headerKey = writeKeyFromAuthorization(request.headers.authorization)
    let source = headerKey === undefined ? undefined : keys.sourceOf(headerKey)
    if (headerKey !== undefined && source === undefined) throw new IngestError(401, `write key not recognised: ${WRITE_KEY_HELP}`)

    const body = parseJson(raw)
    if (source === undefined) {
      const bodyKey = writeKeyInBody(body)
      if (bodyKey === undefined) throw new IngestError(401, `write key missing: ${WRITE_KEY_HELP}`)
      source = keys.sourceOf(bodyKey)
      if (source === undefined) throw new IngestError(401, `write key not recognised: ${WRITE_KEY_HELP}`)
    }

    if (await gate.isOver()) {
      throw new IngestError(
        429,
        `backlog is over ${limits.maxBacklog} unfinished events; retry after ${limits.backpressureRetryAfterSeconds} s`,
        limits.backpressureRetryAfterSeconds
      )
    }

    const events = eventsOfRequest(route, body, raw.length, source, limits, receivedAt)
    if (events.length > 0) {
      const started = performance.now()
      let results
      try {
        results = await store.enqueue(events)
      } catch (err) {
        request.log.error({ err }, 'store.enqueue failed')
        throw new IngestError(503, 'events could not be stored; retry later', 5)
      }
      observer?.storeLatency?.('enqueue', (performance.now() - started) / 1000)
      let fresh = 0
      for (const result of results) if (!result.duplicate) fresh++
      if (observer?.ingested) report(observer, events, results)
      gate.accepted(fresh)
    }
    return reply.code(200).type(JSON_TYPE).send(SUCCESS)
  }

  app.post<{ Params: { kind: string } }>('/v1/:kind', (request, reply) => {
    const route = routeOf(request.params.kind)
    if (route === undefined) {
      const known = Object.keys(ROUTES).map((k) => `/v1/${k}`).join(', ')
      throw new IngestError(404, `unknown endpoint /v1/${request.params.kind.slice(0, 40)}; use one of ${known}`)
    }
    return ingest(route, request, reply)
  })

  app.get<{ Params: { writeKey: string } }>('/v1/projects/:writeKey/settings', async (request, reply) => {
    const writeKey = request.params.writeKey
    if (keys.sourceOf(writeKey) === undefined) {
      return reply.code(404).type(JSON_TYPE).send(errorBody('no source has this write key'))
    }
    const settings = browserSettings({
      writeKey,
      host: request.host,
      protocol: request.protocol === 'https' ? 'https' : 'http'
    })
    return reply.header('cache-control', 'no-cache').type(JSON_TYPE).send(JSON.stringify(settings))
  })
}
