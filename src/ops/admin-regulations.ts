/**
 * `/api/regulations`: user suppression and deletion requests, shaped as Segment's Public API
 * shapes them (docs/privacy.md). Answers use Segment's envelope, `{"data": ...}`, so a script
 * written for Segment's API reads them where it expects to; the id of a new regulation is also
 * at the top level (`regulateId`). Registered inside the admin plugin: the same token rules.
 */
import type { FastifyInstance } from 'fastify'
import type { NewRegulation, Regulation, RegulationStatus, RegulationType, StoreRegulations } from '../store/types'

export const REGULATION_TYPES: readonly RegulationType[] = ['SUPPRESS_ONLY', 'UNSUPPRESS', 'SUPPRESS_WITH_DELETE', 'DELETE_ONLY']
const STATUSES: readonly RegulationStatus[] = ['RUNNING', 'FINISHED', 'FAILED']
/** Segment's limit on the ids of one request. */
export const MAX_SUBJECT_IDS = 5000
const MAX_LIST = 500
/** A userId longer than this is refused: no store keys on such ids, and it bounds the request. */
export const MAX_SUBJECT_ID_LENGTH = 1024
const REGULATION_BODY_LIMIT = MAX_SUBJECT_IDS * (MAX_SUBJECT_ID_LENGTH + 8) + 64 * 1024
/** The header the CLI sends so that a regulation it made says so (`origin: "cli"`). */
export const ORIGIN_HEADER = 'x-csb-relay-origin'

export interface RegulationRoutesOptions {
  store: StoreRegulations
  /** A regulation was created: the runner takes it at once. */
  wake?: () => void
}

/** The regulation a request body asks for (origin aside), or the problem naming the field and the fix. */
export function parseRegulationRequest(body: unknown): Omit<NewRegulation, 'origin'> | { error: string } {
  const usage = 'body must be {"regulationType": "SUPPRESS_ONLY" | "UNSUPPRESS" | "SUPPRESS_WITH_DELETE" | "DELETE_ONLY", "subjectType": "USER_ID", "subjectIds": ["user-1", ...]}'
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { error: usage }
  const b = body as Record<string, unknown>
  if (b.regulationType === undefined) return { error: `"regulationType" is missing; ${usage}` }
  if (typeof b.regulationType !== 'string' || !(REGULATION_TYPES as readonly string[]).includes(b.regulationType)) {
    return { error: `"regulationType" must be one of ${REGULATION_TYPES.join(', ')}; got ${JSON.stringify(b.regulationType)?.slice(0, 60)}` }
  }
  if (b.subjectType !== 'USER_ID') {
    const got = b.subjectType === undefined ? 'it is missing' : `got ${JSON.stringify(b.subjectType)?.slice(0, 60)}`
    return { error: `"subjectType" must be "USER_ID" (the relay regulates users by their userId); ${got}` }
  }
  const ids = b.subjectIds
  if (!Array.isArray(ids) || ids.length === 0) {
    return { error: `"subjectIds" must be a non-empty array of userIds (1 to ${MAX_SUBJECT_IDS}); ${ids === undefined ? 'it is missing' : 'got ' + (Array.isArray(ids) ? 'an empty array' : typeof ids)}` }
  }
  if (ids.length > MAX_SUBJECT_IDS) {
    return { error: `"subjectIds" has ${ids.length} ids; at most ${MAX_SUBJECT_IDS} are accepted per regulation: send the rest in further requests` }
  }
  const bad = ids.findIndex((id) => typeof id !== 'string' || id === '')
  if (bad >= 0) return { error: `"subjectIds[${bad}]" must be a non-empty string (a userId); got ${JSON.stringify(ids[bad])?.slice(0, 60)}` }
  const long = ids.findIndex((id) => (id as string).length > MAX_SUBJECT_ID_LENGTH)
  if (long >= 0) return { error: `"subjectIds[${long}]" is ${(ids[long] as string).length} characters long; a userId may have at most ${MAX_SUBJECT_ID_LENGTH}` }
  return { type: b.regulationType as RegulationType, subjectIds: [...new Set(ids as string[])] }
}

/** A regulation as the admin API answers it: the store's record, with Segment's names beside the relay's. */
export function regulationView(r: Regulation, withSubjects = true) {
  return {
    id: r.id,
    regulationType: r.type,
    subjectType: r.subjectType,
    ...(withSubjects ? { subjectIds: r.subjectIds } : {}),
    subjectCount: r.subjectIds.length,
    status: r.status,
    overallStatus: r.status,
    origin: r.origin,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt ? r.finishedAt.toISOString() : null,
    counts: r.counts,
    error: r.error
  }
}
export type RegulationView = ReturnType<typeof regulationView>

export function regulationRoutes(app: FastifyInstance, options: RegulationRoutesOptions): void {
  const { store } = options

  // 5,000 userIds of up to 1 KiB each, quoted and separated, fit; Fastify's default (1 MiB) would
  // refuse long ids with a 413 before the 400 that names the limit.
  app.post<{ Body: unknown }>('/regulations', { bodyLimit: REGULATION_BODY_LIMIT }, async (request, reply) => {
    const parsed = parseRegulationRequest(request.body)
    if ('error' in parsed) return reply.code(400).send({ error: parsed.error })
    const origin = request.headers[ORIGIN_HEADER] === 'cli' ? 'cli' : 'api'
    const regulation = await store.createRegulation({ ...parsed, origin })
    request.log.info({ regulation: regulation.id, type: regulation.type, subjects: regulation.subjectIds.length, origin }, 'regulation created')
    options.wake?.()
    return { regulateId: regulation.id, data: { regulateId: regulation.id } }
  })

  app.get<{ Querystring: { status?: string; limit?: string } }>('/regulations', async (request, reply) => {
    const q = request.query
    if (q.status !== undefined && !(STATUSES as readonly string[]).includes(q.status)) {
      return reply.code(400).send({ error: `status must be one of ${STATUSES.join(', ')}, got "${q.status}"` })
    }
    const limit = q.limit === undefined ? 50 : Number(q.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) return reply.code(400).send({ error: `limit must be an integer from 1 to ${MAX_LIST}` })
    const regulations = await store.listRegulations({ limit, status: q.status as RegulationStatus | undefined })
    return { data: { regulations: regulations.map((r) => regulationView(r, false)) } }
  })

  app.get<{ Params: { id: string } }>('/regulations/:id', async (request, reply) => {
    const regulation = await store.getRegulation(request.params.id)
    if (!regulation) return reply.code(404).send({ error: `no regulation with id "${request.params.id.slice(0, 80)}"; list them with GET /api/regulations` })
    return { data: { regulation: regulationView(regulation) } }
  })
}
