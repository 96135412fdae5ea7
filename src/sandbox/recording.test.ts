import { afterEach, describe, expect, it } from 'vitest'
import { bearer, call, KEY, post, sandboxes, USER } from '../../test/helpers/sandbox'

const pool = sandboxes()
afterEach(() => pool.closeAll())

describe('recording', () => {
  it('records every CSB-side request in order with headers, parsed body, status and response', async () => {
    const sandbox = await pool.start()
    await post(sandbox, '/api/v1_1/user', USER)
    await post(sandbox, '/api/v1_1/account', '{not json', bearer())
    await post(sandbox, '/nope', { a: 1 })
    const recorded = sandbox.requests()
    expect(recorded.map((r) => [r.seq, r.method, r.path, r.status])).toEqual([
      [1, 'POST', '/api/v1_1/user', 200],
      [2, 'POST', '/api/v1_1/account', 400],
      [3, 'POST', '/nope', 404]
    ])
    expect(recorded[0].headers.authorization).toBe(`Bearer ${KEY}`)
    expect(recorded[0].headers['content-type']).toBe('application/json')
    expect(recorded[0].body).toEqual(USER)
    expect(recorded[0].response).toEqual({ success: true })
    expect(recorded[1].body).toBe('{not json')
    expect(recorded[1].response).toMatchObject({ success: false })
    expect(Date.parse(recorded[0].at)).not.toBeNaN()
    expect(recorded[0].fault).toBeUndefined()
  })

  it('serves the recording at GET /_sandbox/requests, filtered by path and since, without recording itself', async () => {
    const sandbox = await pool.start()
    await post(sandbox, '/api/v1_1/user', USER)
    await post(sandbox, '/api/v1_1/account', { account_id: 'a' })
    await post(sandbox, '/api/v1_1/user', { ...USER, user_id: 'u2' })
    const all = await call(sandbox, 'GET', '/_sandbox/requests')
    expect(all.status).toBe(200)
    expect(all.body.map((r: any) => r.seq)).toEqual([1, 2, 3])
    expect(all.body[2].body.user_id).toBe('u2')
    const users = await call(sandbox, 'GET', '/_sandbox/requests?path=/api/v1_1/user')
    expect(users.body.map((r: any) => r.seq)).toEqual([1, 3])
    const since = await call(sandbox, 'GET', '/_sandbox/requests?since=1')
    expect(since.body.map((r: any) => r.seq)).toEqual([2, 3])
    const both = await call(sandbox, 'GET', '/_sandbox/requests?since=1&path=%2Fapi%2Fv1_1%2Fuser')
    expect(both.body.map((r: any) => r.seq)).toEqual([3])
    expect((await call(sandbox, 'GET', '/_sandbox/requests?since=99')).body).toEqual([])
    expect((await call(sandbox, 'GET', '/_sandbox/requests?since=1&limit=1')).body.map((r: any) => r.seq)).toEqual([2])
    expect((await call(sandbox, 'GET', '/_sandbox/requests?limit=0')).status).toBe(400)
    expect(sandbox.requests({ path: '/api/v1_1/user', limit: 1 }).map((r) => r.seq)).toEqual([1])
    const bad = await call(sandbox, 'GET', '/_sandbox/requests?since=abc')
    expect(bad.status).toBe(400)
    expect(bad.body.message).toMatch(/since must be a whole number/)
    expect(sandbox.requests()).toHaveLength(3)
  })

  it('DELETE /_sandbox/requests clears the recording; seq keeps counting', async () => {
    const sandbox = await pool.start()
    await post(sandbox, '/api/v1_1/user', USER)
    await post(sandbox, '/api/v1_1/user', USER)
    const cleared = await call(sandbox, 'DELETE', '/_sandbox/requests')
    expect(cleared.body).toEqual({ success: true, cleared: 2 })
    expect(sandbox.requests()).toEqual([])
    await post(sandbox, '/api/v1_1/user', USER)
    expect(sandbox.requests().map((r) => r.seq)).toEqual([3])
    expect(sandbox.requests({ since: 2 }).map((r) => r.seq)).toEqual([3])
    sandbox.clearRequests()
    expect(sandbox.requests()).toEqual([])
  })

  it('keeps only the newest recordLimit requests', async () => {
    const sandbox = await pool.start({ recordLimit: 3 })
    for (let i = 1; i <= 7; i++) await post(sandbox, '/api/v1_1/user', { ...USER, user_id: `u${i}` })
    expect(sandbox.requests().map((r) => (r.body as any).user_id)).toEqual(['u5', 'u6', 'u7'])
    expect(sandbox.requests({ since: 5 }).map((r) => r.seq)).toEqual([6, 7])
    expect(sandbox.requests({ since: 1 }).map((r) => r.seq)).toEqual([5, 6, 7])
  })

  it('answers GET /_sandbox/health and 404/405 for unknown control calls, without a key', async () => {
    const sandbox = await pool.start()
    await post(sandbox, '/api/v1_1/user', USER)
    const health = await call(sandbox, 'GET', '/_sandbox/health')
    expect(health.body).toEqual({ ok: true, recorded: 1, outage: null })
    expect((await call(sandbox, 'GET', '/_sandbox/nothing')).status).toBe(404)
    const wrong = await call(sandbox, 'PUT', '/_sandbox/requests')
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('GET, DELETE')
  })

  it('calls onRequest once per CSB-side request with its outcome', async () => {
    const seen: string[] = []
    const sandbox = await pool.start({ onRequest: (r) => seen.push(`${r.method} ${r.path} ${r.status}`) })
    await post(sandbox, '/api/v1_1/user', USER)
    await post(sandbox, '/api/v1_1/user', USER, null)
    await call(sandbox, 'GET', '/_sandbox/health')
    expect(seen).toEqual(['POST /api/v1_1/user 200', 'POST /api/v1_1/user 401'])
  })
})
