/**
 * The admin JSON API under `/api/` that the dashboard and the CLI use. When an admin token
 * exists every route requires `Authorization: Bearer <token>`; without one, only clients on
 * this machine may use it (admin-auth.ts). Every answer is scrubbed of secret values before it
 * leaves, whatever produced it.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { EventStatus, ReplayFilter, Store, StoredEvent } from '../store/types'
import { suggestFix } from './fixes'
import { parsePeriod } from './period'
import { SecretSet, scrubValue } from '../delivery'
import { CsbSettingsError, type CsbState } from './csb-settings'
import { buildOverview } from './overview'
import { retentionLine } from './retention'
import { browserSetupHandler } from './browser-setup'
import { adminAccessHook, hashAdminToken } from './admin-auth'
import { regulationRoutes } from './admin-regulations'

/** Result of asking CSB whether it accepts the configured key (destination's testAuthentication). */
export interface CsbCheck {
  configured: boolean
  ok: boolean
  message: string
}

/**
 * Runs an event through routing and mapping without sending it (or sends it when `send`):
 * which action matches and the exact CSB request. The shape is the delivery module's; the
 * dashboard shows it as it comes.
 */
export type EventTester = (event: Record<string, unknown>, options: { send: boolean }) => Promise<unknown>

export interface AdminOptions {
  store: Store
  /** The configuration in force, already redacted (`redactConfig`). */
  config: Record<string, unknown>
  /** The admin token set by the operator; scrubbed from answers, and required unless `adminTokenHash` is given. */
  adminToken?: string
  /** `sha256:<hex>` of the token in force (a generated one is known by its hash only); wins over `adminToken`. */
  adminTokenHash?: string
  /** Secret values to scrub from every answer (API key, write keys, admin token); a SecretSet may grow later. */
  secrets: Iterable<string | undefined | null> | SecretSet
  /** Replays dead letters and wakes delivery; defaults to `store.replay`. */
  replay?: (filter: ReplayFilter) => Promise<number>
  testEvent?: EventTester
  checkCsb?: () => Promise<CsbCheck>
  /** CSB settings at runtime (`GET`/`PUT /api/csb`); absent: those routes answer 503. */
  csb?: CsbControls
  /** The feature and module names sent to CSB and their limits (`GET /api/names`); absent: 503. */
  names?: () => Promise<NamesReport>
  /** A regulation was created (`POST /api/regulations`): the runner takes it at once. */
  wakeRegulations?: () => void
}

/** Per kind (`feature`, `module`): the names the relay has sent to CSB, in the order first sent, and the limit (0 = none). */
export type NamesReport = Record<string, { count: number; limit: number; names: string[] }>

export interface CsbControls {
  state(): CsbState
  /** Checks, keeps and applies the settings (the request body); throws CsbSettingsError (400/409) or the reason delivery refused them. */
  set(body: unknown): Promise<CsbState>
}

const STATUSES = new Set(['pending', 'retrying', 'delivered', 'dead', 'skipped'])
const MAX_LIST = 500
const CSB_CHECK_TIMEOUT_MS = 15_000

export const adminPlugin: FastifyPluginAsync<AdminOptions> = async (app, options) => {
  const { store } = options
  const secrets = options.secrets instanceof SecretSet ? options.secrets : new SecretSet(options.secrets)
  secrets.add(options.adminToken)
  const scrub = secrets.scrub
  const tokenHash = options.adminTokenHash ?? (options.adminToken ? hashAdminToken(options.adminToken) : null)
  const checkAccess = adminAccessHook(tokenHash)

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store')
    return checkAccess(request, reply)
  })

  app.addHook('onSend', async (_request, _reply, payload) => (typeof payload === 'string' ? scrub(payload) : payload))

  // Every admin error has the same shape, {"error": "..."}, which the CLI prints as it is.
  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status === 500) request.log.error({ err }, 'admin API failed')
    return reply.code(status).send({ error: status === 500 ? `internal error: ${err.message}` : err.message })
  })
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no admin route ${request.method} ${request.url.split('?')[0]}; see docs/ops.md` })
  )

  // `destination` narrows a read to one destination's rows; a name the store does not know is a
  // 400 listing the known ones (a typo must not look like an empty destination).
  const destinationOf = async (name: string | undefined): Promise<{ destination?: string } | { error: string }> => {
    if (name === undefined || name === '') return {}
    const known = Object.keys((await store.counts()).byDestination ?? {})
    if (!known.includes(name)) return { error: `unknown destination "${name}"; known: ${known.join(', ')}` }
    return { destination: name }
  }

  app.get<{ Querystring: { period?: string; destination?: string } }>('/overview', async (request, reply) => {
    const period = parsePeriod(request.query.period)
    if ('error' in period) return reply.code(400).send({ error: period.error })
    const which = await destinationOf(request.query.destination)
    if ('error' in which) return reply.code(400).send({ error: which.error })
    return { ...(await buildOverview(store, period, new Date(), which.destination)), retention: retentionLine(options.config) ?? null }
  })

  // User suppression and deletion (admin-regulations.ts, docs/privacy.md).
  regulationRoutes(app, { store, wake: options.wakeRegulations })

  app.get<{ Querystring: { status?: string; reason?: string; type?: string; limit?: string; beforeId?: string; destination?: string } }>(
    '/events',
    async (request, reply) => {
      const q = request.query
      if (q.status !== undefined && !STATUSES.has(q.status)) {
        return reply.code(400).send({ error: `status must be one of ${[...STATUSES].join(', ')}, got "${q.status}"` })
      }
      const limit = q.limit === undefined ? 50 : Number(q.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
        return reply.code(400).send({ error: `limit must be an integer from 1 to ${MAX_LIST}` })
      }
      const which = await destinationOf(q.destination)
      if ('error' in which) return reply.code(400).send({ error: which.error })
      const events = await store.list({
        destination: which.destination,
        status: q.status as EventStatus | 'retrying' | undefined,
        reason: q.reason || undefined,
        type: q.type || undefined,
        beforeId: q.beforeId || undefined,
        limit
      })
      return { events: events.map(summarise), nextBeforeId: events.length === limit ? events[events.length - 1].id : null }
    }
  )

  app.get<{ Params: { id: string } }>('/events/:id', async (request, reply) => {
    const event = await store.get(request.params.id)
    if (!event) return reply.code(404).send({ error: `no event with id "${request.params.id}"` })
    return scrubValue(detail(event), scrub)
  })

  app.post<{ Body: unknown }>('/replay', async (request, reply) => {
    const filter = parseReplayFilter(request.body)
    if ('error' in filter) return reply.code(400).send({ error: filter.error })
    const which = await destinationOf(filter.destination)
    if ('error' in which) return reply.code(400).send({ error: which.error })
    const replayed = await (options.replay ?? ((f: ReplayFilter) => store.replay(f)))(filter)
    return { replayed }
  })

  app.get<{ Querystring: { destination?: string } }>('/reasons', async (request, reply) => {
    const which = await destinationOf(request.query.destination)
    if ('error' in which) return reply.code(400).send({ error: which.error })
    const reasons = await store.reasons(which.destination ? { destination: which.destination } : undefined)
    return { reasons: reasons.map((r) => ({ ...r, fix: suggestFix(r.reason) })) }
  })

  app.post<{ Body: unknown }>('/test-event', async (request, reply) => {
    if (!options.testEvent) return reply.code(503).send({ error: 'the event tester is not available in this relay' })
    const body = request.body as { event?: unknown; send?: unknown } | undefined
    const event = body && typeof body === 'object' ? body.event : undefined
    if (!event || typeof event !== 'object' || Array.isArray(event)) {
      return reply.code(400).send({ error: 'body must be {"event": {...a Segment event...}, "send": false}' })
    }
    if (typeof (event as { type?: unknown }).type !== 'string') {
      return reply.code(400).send({ error: 'the event needs a "type" (identify, track, page, screen, group or alias)' })
    }
    try {
      const result = await options.testEvent(event as Record<string, unknown>, { send: body?.send === true })
      return scrubValue({ result }, scrub)
    } catch (err) {
      return reply.code(422).send({ error: `the event could not be tested: ${(err as Error).message}` })
    }
  })

  app.get('/config', async () => ({ config: options.config, engine: store.engine }))

  // Per source: Segment's snippet for the relay's public URL and the CSP entries (browser-setup.ts).
  app.get('/browser', browserSetupHandler(options.config))

  app.get('/csb', async (_request, reply) => {
    if (!options.csb) return reply.code(503).send({ error: 'CSB settings cannot be read or changed in this relay' })
    return options.csb.state()
  })

  app.put<{ Body: unknown }>('/csb', async (request, reply) => {
    if (!options.csb) return reply.code(503).send({ error: 'CSB settings cannot be read or changed in this relay' })
    // Whoever sets CSB's address decides where every event goes: the access hook lets only
    // the token's holder, or without a token only this machine, this far.
    try {
      return await options.csb.set(request.body)
    } catch (err) {
      // Refusals name the field or the reason; anything else (the store failing) is a 500.
      if (err instanceof CsbSettingsError) return reply.code(err.statusCode).send({ error: err.message })
      throw err
    }
  })

  app.get('/names', async (_request, reply) => {
    if (!options.names) return reply.code(503).send({ error: 'this relay does not report the names it sent' })
    return options.names()
  })

  app.get('/csb-check', async () => {
    if (!options.checkCsb) return { configured: false, ok: false, message: 'CSB is not configured: set CSB_API_KEY and CSB_BASE_URL' }
    try {
      return await withTimeout(options.checkCsb(), CSB_CHECK_TIMEOUT_MS)
    } catch (err) {
      return { configured: true, ok: false, message: `CSB did not answer: ${(err as Error).message}` }
    }
  })
}

function summarise(e: StoredEvent) {
  const ev = e.event as Record<string, unknown>
  return {
    id: e.id,
    destination: e.destination,
    messageId: e.messageId,
    source: e.source,
    type: e.type,
    name: typeof ev.event === 'string' ? ev.event : typeof ev.name === 'string' ? ev.name : null,
    userId: ev.userId ?? ev.anonymousId ?? null,
    status: displayStatus(e),
    attempts: e.attempts,
    action: e.action,
    lastStatus: e.lastStatus,
    lastError: e.lastError,
    fix: e.lastError && (e.status === 'dead' || e.status === 'pending') ? suggestFix(e.lastError) : null,
    receivedAt: e.receivedAt,
    finishedAt: e.finishedAt
  }
}

function detail(e: StoredEvent) {
  return {
    ...summarise(e),
    orderingKey: e.orderingKey,
    runAt: e.runAt,
    firstFailedAt: e.firstFailedAt,
    samples: {
      received: e.event,
      request: e.samples?.request ?? null,
      response: e.samples?.response ?? null
    }
  }
}

/** A pending event that has been tried already is waiting for a retry. */
function displayStatus(e: StoredEvent): string {
  return e.status === 'pending' && e.attempts > 0 ? 'retrying' : e.status
}

export function parseReplayFilter(body: unknown): ReplayFilter | { error: string } {
  const usage = 'body must be {"ids": ["..."]}, {"all": true} or {"reason": "text"} (reason and "destination" may narrow "all")'
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { error: usage }
  const b = body as Record<string, unknown>
  const filter: ReplayFilter = {}
  if (b.ids !== undefined) {
    if (!Array.isArray(b.ids) || b.ids.length === 0 || !b.ids.every((id) => typeof id === 'string' && id !== '')) {
      return { error: '"ids" must be a non-empty array of event ids' }
    }
    filter.ids = b.ids as string[]
  }
  if (b.all !== undefined) {
    if (typeof b.all !== 'boolean') return { error: '"all" must be true or false' }
    filter.all = b.all
  }
  if (b.reason !== undefined) {
    if (typeof b.reason !== 'string' || b.reason.trim() === '') return { error: '"reason" must be non-empty text' }
    filter.reason = b.reason
  }
  if (b.destination !== undefined) {
    if (typeof b.destination !== 'string' || b.destination.trim() === '') return { error: '"destination" must be a destination\'s name' }
    filter.destination = b.destination
  }
  if (!filter.ids && !filter.all && !filter.reason) return { error: usage }
  // "Every dead letter whose reason contains TEXT": the store narrows `all` (or `ids`) by reason.
  if (filter.reason && !filter.ids) filter.all = true
  return filter
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)
    promise.then(
      (v) => { clearTimeout(timer); resolve(v) },
      (e) => { clearTimeout(timer); reject(e) }
    )
  })
}
