import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { fakeStore } from '../../test/helpers/fake-store'
import { fakeRegulations, type FakeRegulations } from '../../test/helpers/fake-regulations'
import type { Store } from '../store/types'
import { adminPlugin } from './admin'
import { parseRegulationRequest } from './admin-regulations'

const TOKEN = 'regulations-admin-token-0123'
/** docs/privacy.md and docs/ops.md: "1 to 5,000" subjectIds per regulation. */
const MOST_IDS = 5_000

let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

async function build(options: { adminToken?: string } = {}) {
  const regulations = fakeRegulations()
  let woken = 0
  app = Fastify()
  const store = Object.assign(fakeStore(), regulations) as unknown as Store
  await app.register(adminPlugin, { store, config: {}, secrets: [], prefix: '/api', wakeRegulations: () => void woken++, ...options })
  await app.ready()
  return { app, regulations, woken: () => woken }
}

const auth = { authorization: `Bearer ${TOKEN}` }
const valid = { regulationType: 'SUPPRESS_ONLY', subjectType: 'USER_ID', subjectIds: ['u-1', 'u-2'] }

describe('the regulation request', () => {
  it.each([
    [null, /^body must be \{"regulationType": /],
    [[], /^body must be /],
    [{ subjectType: 'USER_ID', subjectIds: ['u'] }, /^"regulationType" is missing; body must be /],
    [{ ...valid, regulationType: 'DELETE' }, /^"regulationType" must be one of SUPPRESS_ONLY, UNSUPPRESS, SUPPRESS_WITH_DELETE, DELETE_ONLY; got "DELETE"$/],
    [{ ...valid, subjectType: 'EMAIL' }, /^"subjectType" must be "USER_ID" \(the relay regulates users by their userId\); got "EMAIL"$/],
    [{ regulationType: 'DELETE_ONLY', subjectIds: ['u'] }, /^"subjectType" must be "USER_ID" .*; it is missing$/],
    [{ ...valid, subjectIds: undefined }, /^"subjectIds" must be a non-empty array of userIds \(1 to 5000\); it is missing$/],
    [{ ...valid, subjectIds: [] }, /^"subjectIds" must be a non-empty array .*; got an empty array$/],
    [{ ...valid, subjectIds: 'u-1' }, /^"subjectIds" must be a non-empty array .*; got string$/],
    [{ ...valid, subjectIds: ['u-1', '', 'u-3'] }, /^"subjectIds\[1\]" must be a non-empty string \(a userId\); got ""$/],
    [{ ...valid, subjectIds: ['u-1', 42] }, /^"subjectIds\[1\]" must be a non-empty string \(a userId\); got 42$/],
    [{ ...valid, subjectIds: ['u-1', 'x'.repeat(1025)] }, /^"subjectIds\[1\]" is 1025 characters long; a userId may have at most 1024$/],
    [{ ...valid, subjectIds: Array.from({ length: MOST_IDS + 1 }, (_, i) => `u-${i}`) }, /^"subjectIds" has 5001 ids; at most 5000 are accepted per regulation: send the rest in further requests$/]
  ])('refuses %j, naming the field and the fix', (body, message) => {
    const parsed = parseRegulationRequest(body)
    expect('error' in parsed && parsed.error).toMatch(message)
  })

  it('takes 1 to 5000 ids, each once', () => {
    expect(parseRegulationRequest({ ...valid, subjectIds: ['u-1', 'u-2', 'u-1'] })).toEqual({ type: 'SUPPRESS_ONLY', subjectIds: ['u-1', 'u-2'] })
    const most = Array.from({ length: MOST_IDS }, (_, i) => `u-${i}`)
    expect(parseRegulationRequest({ ...valid, regulationType: 'DELETE_ONLY', subjectIds: most })).toEqual({ type: 'DELETE_ONLY', subjectIds: most })
  })
})

describe('/api/regulations', () => {
  it('POST creates a RUNNING regulation, answers its id at the top and in Segment\'s "data", and wakes the runner', async () => {
    const { app, regulations, woken } = await build()
    const res = await app.inject({ method: 'POST', url: '/api/regulations', payload: valid })
    expect(res.statusCode).toBe(200)
    const body = res.json() as { regulateId: string; data: { regulateId: string } }
    expect(body).toEqual({ regulateId: expect.any(String), data: { regulateId: body.regulateId } })
    expect(await regulations.getRegulation(body.regulateId)).toMatchObject({ type: 'SUPPRESS_ONLY', subjectIds: ['u-1', 'u-2'], status: 'RUNNING', origin: 'api' })
    expect(woken()).toBe(1)
  })

  it('POST from the CLI (its origin header) is recorded as origin "cli"', async () => {
    const { app, regulations } = await build()
    const res = await app.inject({ method: 'POST', url: '/api/regulations', payload: valid, headers: { 'x-csb-relay-origin': 'cli' } })
    expect((await regulations.getRegulation(res.json().regulateId))!.origin).toBe('cli')
  })

  it('POST takes 5,000 userIds of 1,024 characters (a body over Fastify\'s default 1 MiB)', async () => {
    const { app, regulations } = await build()
    const subjectIds = Array.from({ length: MOST_IDS }, (_, i) => `${i}-`.padEnd(1024, 'x'))
    const res = await app.inject({ method: 'POST', url: '/api/regulations', payload: { ...valid, subjectIds } })
    expect(res.statusCode).toBe(200)
    expect((await regulations.getRegulation(res.json().regulateId))!.subjectIds).toHaveLength(MOST_IDS)
  })

  it('POST refuses a bad body with 400 naming the field, and creates nothing', async () => {
    const { app, regulations, woken } = await build()
    const res = await app.inject({ method: 'POST', url: '/api/regulations', payload: { ...valid, regulationType: 'suppress' } })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toMatch(/^"regulationType" must be one of /)
    expect(regulations.regulations.size).toBe(0)
    expect(woken()).toBe(0)
  })

  it('GET /:id answers status and counts in Segment\'s envelope; an unknown id is a 404', async () => {
    const { app, regulations } = await build()
    const { id } = await regulations.createRegulation({ type: 'SUPPRESS_WITH_DELETE', subjectIds: ['u-1'], origin: 'event' })
    await regulations.updateRegulation(id, { status: 'FINISHED', addCounts: { suppressed: 1, events: 4 } })
    const res = await app.inject({ url: `/api/regulations/${id}` })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      data: {
        regulation: {
          id, regulationType: 'SUPPRESS_WITH_DELETE', subjectType: 'USER_ID', subjectIds: ['u-1'], subjectCount: 1, status: 'FINISHED',
          overallStatus: 'FINISHED', origin: 'event', createdAt: expect.any(String), finishedAt: expect.any(String), error: null,
          counts: { suppressed: 1, unsuppressed: 0, events: 4, admittedEvents: 0, identityLinks: 0, destinationDeletes: 0, destinationDeleteFailures: 0 }
        }
      }
    })
    const missing = await app.inject({ url: '/api/regulations/nope' })
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toEqual({ error: 'no regulation with id "nope"; list them with GET /api/regulations' })
  })

  it('GET lists newest first, narrowed by status, without the ids themselves', async () => {
    const { app, regulations } = await build()
    const a = await regulations.createRegulation({ type: 'SUPPRESS_ONLY', subjectIds: ['u-1'], origin: 'api' })
    const b = await regulations.createRegulation({ type: 'DELETE_ONLY', subjectIds: ['u-2', 'u-3'], origin: 'cli' })
    await regulations.updateRegulation(a.id, { status: 'FAILED', error: 'the store failed' })
    const all = (await app.inject({ url: '/api/regulations' })).json().data.regulations
    expect(all.map((r: { id: string }) => r.id)).toEqual([b.id, a.id])
    expect(all[0]).toMatchObject({ subjectCount: 2, status: 'RUNNING' })
    expect(all[0]).not.toHaveProperty('subjectIds')
    const failed = (await app.inject({ url: '/api/regulations?status=FAILED' })).json().data.regulations
    expect(failed).toMatchObject([{ id: a.id, error: 'the store failed' }])
    expect((await app.inject({ url: '/api/regulations?status=DONE' })).json()).toEqual({ error: 'status must be one of RUNNING, FINISHED, FAILED, got "DONE"' })
    expect((await app.inject({ url: '/api/regulations?limit=0' })).statusCode).toBe(400)
    expect((await app.inject({ url: '/api/regulations?limit=1' })).json().data.regulations).toHaveLength(1)
  })

  it('follows the admin token rules: with a token, every route wants it', async () => {
    const { app, regulations } = await build({ adminToken: TOKEN })
    const { id } = await regulations.createRegulation({ type: 'SUPPRESS_ONLY', subjectIds: ['u-1'], origin: 'api' })
    for (const [method, url] of [['POST', '/api/regulations'], ['GET', '/api/regulations'], ['GET', `/api/regulations/${id}`]] as const) {
      const refused = await app.inject({ method, url, payload: method === 'POST' ? valid : undefined })
      expect(refused.statusCode, `${method} ${url}`).toBe(401)
      expect(refused.json().error).toMatch(/^admin token required/)
    }
    expect(regulations.regulations.size).toBe(1)
    expect((await app.inject({ method: 'POST', url: '/api/regulations', payload: valid, headers: auth })).statusCode).toBe(200)
    expect((await app.inject({ url: `/api/regulations/${id}`, headers: auth })).statusCode).toBe(200)
  })

  it('without a token, only this machine, not through a proxy', async () => {
    const { app } = await build()
    const proxied = await app.inject({ method: 'POST', url: '/api/regulations', payload: valid, headers: { 'x-forwarded-for': '203.0.113.9' } })
    expect(proxied.statusCode).toBe(403)
    const remote = await app.inject({ url: '/api/regulations', remoteAddress: '203.0.113.9' })
    expect(remote.statusCode).toBe(403)
  })
})
