/**
 * The Segment tracking API as a fastify plugin (its own encapsulated scope: its body parser,
 * CORS headers and error answers apply to its routes only).
 *
 * One request: read the body (limits, gzip) → write key (Basic header, else body) → parse
 * JSON once → backpressure → validate and normalise → one `store.admit` call, which resolves
 * after commit → 200. Every refusal is a 4xx whose body names the problem. Dedupe happens as
 * the store moves admitted events into its queue; the observer hears of accepted and duplicate
 * events then (`store.onQueued`). A `delete` event (/v1/webhook) is a user deletion request: it
 * becomes a DELETE_ONLY regulation (`store.createRegulation`, committed before the 200), not an event. A large body with the write key in its header is parsed,
 * validated and normalised on a parse thread instead (parse-thread.ts), with the same answers.
 */
import os from 'node:os'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { OpaqueBatch, SerialisedEvents } from '../store/serialised'
import { slowestBacklog, type NewEvent, type QueuedSummary, type Store } from '../store/types'
import { WRITE_KEY_HELP, WriteKeys, writeKeyFromAuthorization, type IngestSource } from './auth'
import { BacklogGate } from './backlog-gate'
import { readBody } from './body'
import { browserRoutes } from './browser-routes'
import { IngestError } from './errors'
import { ROUTES, eventsOfRequest, routeOf, writeKeyInBody, type Route } from './events'
import { parseJson } from './json'
import { ParseThreads } from './parse-thread'
import { SourceRateLimits } from './rate-limit'
import { noRepairs, type Repairs } from './repairs'
import type { IngestObserver, IngestResult } from './observer'
import { WEBHOOK_PATHS, webhookRoute } from './webhook-route'

export interface IngestLimits {
  maxEventBytes: number
  maxRequestBytes: number
  /** Largest /v1/webhook body (bytes, after gunzip); default maxRequestBytes. */
  maxWebhookRequestBytes?: number
  maxBatchEvents: number
  maxBacklog: number
  backpressureRetryAfterSeconds: number
}

export interface IngestOptions {
  store: Store
  /** Accepted write keys (and shared secrets, for /v1/webhook) and the source name each records. */
  sources: readonly IngestSource[]
  limits: IngestLimits
  observer?: IngestObserver
  /** How long a backlog count from the store is reused (ms). Default 1000. */
  backlogRefreshMs?: number
  /**
   * Threads that parse large requests (see parse-thread.ts). Default 1 on a machine with more
   * than one CPU, else 0 (every request parsed on the request thread).
   */
  parseThreads?: number
  /** Bodies from this size (bytes, after gunzip) go to a parse thread. Default 16 KiB. */
  parseThreadMinBytes?: number
  /** The relay's URL as browsers reach it (config `publicUrl`); absent: as each request came in. */
  publicUrl?: string
}

/** Distinct valid Authorization headers remembered (one per source and encoding, in practice). */
const MAX_RECOGNISED = 256

/** Below this, a body costs less to parse here than to hand to a parse thread and back. */
const PARSE_THREAD_MIN_BYTES = 16 * 1024

const SUCCESS = '{"success":true}'
/** Most user ids in one regulation (Segment's limit per request). */
const MAX_REGULATION_SUBJECTS = 5000
const JSON_TYPE = 'application/json; charset=utf-8'
const CORS_DEFAULT_HEADERS = 'Content-Type, Authorization, X-Retry-Count'
function errorBody(message: string): string {
  return JSON.stringify({ success: false, error: message })
}

/** Reports what ingest repaired in the events of a stored request (repairs.ts). */
function reportRepairs(observer: IngestObserver | undefined, repairs: Repairs): void {
  if (!observer) return
  for (const [field, count] of Object.entries(repairs.invalidTimes)) observer.invalidTime?.(field, count)
  for (const [path, count] of Object.entries(repairs.junkIds)) observer.junkId?.(path, count)
}

/** Reports accepted and duplicate events per type: one call per (type, result), not per event. */
function report(observer: IngestObserver, summary: QueuedSummary): void {
  for (const { type, queued, duplicates } of summary) {
    if (queued > 0) observer.ingested?.(type, 'accepted', queued)
    if (duplicates > 0) observer.ingested?.(type, 'duplicate', duplicates)
  }
}

export const ingestPlugin: FastifyPluginAsync<IngestOptions> = async (app: FastifyInstance, options) => {
  const { store, limits, observer } = options
  const keys = new WriteKeys(options.sources)
  const deleters = new Set(options.sources.filter((s) => s.acceptDeletions).map((s) => s.name))
  const rateLimits = new SourceRateLimits(options.sources)
  // Authorization headers already found to carry a valid key, with their source: SDKs send the
  // same header on every request. Only valid keys are kept, so a lookup tells an attacker nothing
  // the answer would not (a miss goes through the constant-time comparison).
  const recognised = new Map<string, string>()
  const threadCount = options.parseThreads ?? (os.availableParallelism() > 1 ? 1 : 0)
  const parseThreads = threadCount > 0 ? new ParseThreads(threadCount, limits, store.keepsOpaqueBatches ? 'opaque' : 'serialised') : null
  const parseThreadMinBytes = options.parseThreadMinBytes ?? PARSE_THREAD_MIN_BYTES
  if (parseThreads) app.addHook('onClose', () => parseThreads.close())
  if (observer?.ingested) {
    const unsubscribe = store.onQueued((summary) => report(observer, summary))
    app.addHook('onClose', async () => unsubscribe())
  }
  const gate = new BacklogGate(
    async () => {
      const started = performance.now()
      const counts = await store.counts()
      observer?.storeLatency?.('counts', (performance.now() - started) / 1000)
      return slowestBacklog(counts)
    },
    limits.maxBacklog,
    options.backlogRefreshMs ?? 1000,
    (err) => app.log.warn({ err }, 'backlog count failed; using the last known backlog')
  )

  // Bodies are read as bytes here and parsed once in the handler, whatever the content type.
  const maxWebhookRequestBytes = limits.maxWebhookRequestBytes ?? limits.maxRequestBytes
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (request, payload, done) => {
    const maxBytes = WEBHOOK_PATHS.has(request.routeOptions.url ?? '') ? maxWebhookRequestBytes : limits.maxRequestBytes
    readBody(request.headers, payload, maxBytes).then(
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

  async function refuseOverBacklog(): Promise<void> {
    if (await gate.isOver()) {
      throw new IngestError(
        429,
        `backlog is over ${limits.maxBacklog} unfinished events; retry after ${limits.backpressureRetryAfterSeconds} s`,
        limits.backpressureRetryAfterSeconds
      )
    }
  }

  /** Takes the request's events from its source's rate limit, or refuses the request whole (429). */
  function takeRate(source: string, count: number): void {
    try {
      rateLimits.take(source, count)
    } catch (err) {
      observer?.rateLimited?.(source, count)
      throw err
    }
  }

  async function admit(request: FastifyRequest, source: string, events: NewEvent[] | OpaqueBatch | SerialisedEvents, count: number, repairs: Repairs): Promise<void> {
    if (count === 0) return
    takeRate(source, count)
    const started = performance.now()
    try {
      await store.admit(events)
    } catch (err) {
      rateLimits.giveBack(source, count)
      request.log.error({ err }, 'store.admit failed')
      throw new IngestError(503, 'events could not be stored; retry later', 5)
    }
    observer?.storeLatency?.('admit', (performance.now() - started) / 1000)
    gate.accepted(count)
    reportRepairs(observer, repairs)
  }

  /**
   * A request asking for deletions its source may not make is refused whole (403), before any of
   * its events is stored: a sender that believes the deletion done (a 200) would never retry it,
   * and an array is all or nothing, as for any other refusal.
   */
  function checkDeletions(source: string, userIds: readonly string[]): void {
    if (userIds.length === 0 || deleters.has(source)) return
    throw new IngestError(
      403,
      `source "${source}" may not delete users (a "delete" event): set "sharedSecret" on it (Segment then signs its requests, and a signed source accepts deletions) or "acceptDeletions": true in "sources" if only trusted senders hold its write key; or run csb-relay regulate --type DELETE_ONLY`
    )
  }

  /** The request's deletion requests, as DELETE_ONLY regulations; after its events are stored, so the purge finds them. */
  async function regulate(request: FastifyRequest, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return
    try {
      for (let i = 0; i < userIds.length; i += MAX_REGULATION_SUBJECTS) {
        const regulation = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: userIds.slice(i, i + MAX_REGULATION_SUBJECTS), origin: 'event' })
        request.log.info({ regulation: regulation.id, subjects: regulation.subjectIds.length }, 'user deletion request: regulation created')
      }
    } catch (err) {
      request.log.error({ err }, 'store.createRegulation failed')
      throw new IngestError(503, 'the user deletion request could not be stored; retry later', 5)
    }
    observer?.regulationCreated?.()
  }

  async function ingest(route: Route, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const receivedAt = new Date()
    const raw = request.body as Buffer | undefined
    if (!raw || raw.length === 0) throw new IngestError(400, 'empty body: send a JSON event')

    const authorization = request.headers.authorization
    let source = authorization === undefined ? undefined : recognised.get(authorization)
    if (source === undefined) {
      const headerKey = writeKeyFromAuthorization(authorization)
      source = headerKey === undefined ? undefined : keys.sourceOf(headerKey)
      if (headerKey !== undefined && source === undefined) throw new IngestError(401, `write key not recognised: ${WRITE_KEY_HELP}`)
      if (source !== undefined && recognised.size < MAX_RECOGNISED) recognised.set(authorization!, source)
    }

    // A large body whose key came in the header goes to a parse thread whole; any other is parsed here.
    if (source !== undefined && parseThreads && raw.length >= parseThreadMinBytes) {
      await admitRequest(route, request, raw, source, receivedAt)
    } else {
      const body = parseJson(raw)
      if (source === undefined) {
        const bodyKey = writeKeyInBody(body)
        if (bodyKey === undefined) throw new IngestError(401, `write key missing: ${WRITE_KEY_HELP}`)
        source = keys.sourceOf(bodyKey)
        if (source === undefined) throw new IngestError(401, `write key not recognised: ${WRITE_KEY_HELP}`)
      }
      await admitRequest(route, request, raw, source, receivedAt, body)
    }
    return reply.code(200).type(JSON_TYPE).send(SUCCESS)
  }

  /**
   * Checks, normalises and stores the events of an authenticated request; resolves after commit.
   * `body`: the parsed body, when it was parsed already; else a large body goes to a parse thread.
   */
  async function admitRequest(route: Route, request: FastifyRequest, raw: Buffer, source: string, receivedAt: Date, body?: unknown): Promise<void> {
    if (body === undefined && parseThreads && raw.length >= parseThreadMinBytes) {
      await refuseOverBacklog()
      const { batch, repairs, deletions } = await parseThreads.parse(route, raw, source, receivedAt)
      checkDeletions(source, deletions)
      await admit(request, source, batch, batch.n, repairs)
      return regulate(request, deletions)
    }
    const parsed = body === undefined ? parseJson(raw) : body
    await refuseOverBacklog()
    const repairs = noRepairs()
    const deletions: string[] = []
    const events = eventsOfRequest(route, parsed, raw.length, source, limits, receivedAt, true, repairs, deletions)
    checkDeletions(source, deletions)
    await admit(request, source, events, events.length, repairs)
    await regulate(request, deletions)
  }

  app.post<{ Params: { kind: string } }>('/v1/:kind', (request, reply) => {
    const route = routeOf(request.params.kind)
    if (route === undefined) {
      const known = Object.keys(ROUTES).map((k) => `/v1/${k}`).join(', ')
      throw new IngestError(404, `unknown endpoint /v1/${request.params.kind.slice(0, 40)}; use one of ${known}`)
    }
    return ingest(route, request, reply)
  })

  webhookRoute(app, {
    sources: options.sources,
    admit: (request, raw, source, receivedAt) => admitRequest('webhook', request, raw, source, receivedAt),
    answer: (reply) => reply.code(200).type(JSON_TYPE).send(SUCCESS)
  })

  // analytics.js, its chunks and its settings, from this origin (browser-routes.ts)
  browserRoutes(app, { writeKeys: keys, publicUrl: options.publicUrl })
}
