import { afterEach, describe, expect, it } from 'vitest'
import { basicAuth } from '../../test/helpers/http'
import { bearer, FEATURE, KEY, post, sandboxes, USER } from '../../test/helpers/sandbox'

const pool = sandboxes()
afterEach(() => pool.closeAll())

const ENDPOINTS: Array<[string, Record<string, unknown>, string[]]> = [
  ['/api/v1_1/user', USER, ['account_id', 'user_id']],
  ['/api/v1_1/account', { account_id: 'acc-1', name: 'Acme' }, ['account_id']],
  ['/api/v1_1/feature', FEATURE, ['account_id', 'user_id', 'product_id', 'module_id', 'feature_id']],
  ['/api/v1_1/login', { account_id: 'acc-1', user_id: 'u1', type: 'track', event: 'User Login' }, ['account_id', 'user_id']],
  ['/api/v1_1/logout', { account_id: 'acc-1', user_id: 'u1', type: 'track', event: 'User Logout' }, ['account_id', 'user_id']],
  ['/api_js/v1_1/page', { account_id: 'acc-1', user_id: 'u1', type: 'page', url: 'https://x.test/' }, ['account_id', 'user_id']]
]

describe('CSB endpoints', () => {
  for (const [path, body, required] of ENDPOINTS) {
    describe(path, () => {
      it('answers 200 {"success": true} to a valid body with a Bearer key', async () => {
        const sandbox = await pool.start()
        const answer = await post(sandbox, path, body, bearer())
        expect(answer.status).toBe(200)
        expect(answer.body).toEqual({ success: true })
      })

      it('answers 200 with a Basic key (key as user, empty password)', async () => {
        const sandbox = await pool.start()
        expect((await post(sandbox, path, body, basicAuth(KEY))).status).toBe(200)
      })

      for (const field of required) {
        it(`answers 400 naming ${field} when it is missing, empty or null`, async () => {
          const sandbox = await pool.start()
          for (const value of [undefined, '', null]) {
            const answer = await post(sandbox, path, { ...body, [field]: value })
            expect(answer.status).toBe(400)
            expect(answer.body).toEqual({ success: false, message: `missing required field: ${field}`, missing: [field] })
          }
        })
      }
    })
  }

  it('names every missing id at once', async () => {
    const sandbox = await pool.start()
    const answer = await post(sandbox, '/api/v1_1/feature', { account_id: 'a' })
    expect(answer.status).toBe(400)
    expect(answer.body.message).toBe('missing required fields: user_id, product_id, module_id, feature_id')
  })

  it('accepts numeric ids and rejects ids that are objects', async () => {
    const sandbox = await pool.start()
    expect((await post(sandbox, '/api/v1_1/account', { account_id: 42 })).status).toBe(200)
    const answer = await post(sandbox, '/api/v1_1/account', { account_id: { id: 1 } })
    expect(answer.status).toBe(400)
    expect(answer.body.message).toMatch(/account_id must be a string/)
  })

  it('answers 400 to an empty body', async () => {
    const sandbox = await pool.start()
    const answer = await post(sandbox, '/api/v1_1/feature', '')
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ success: false, message: 'empty body: send a JSON object' })
  })

  it('answers 400 to invalid JSON and to JSON that is not an object', async () => {
    const sandbox = await pool.start()
    const invalid = await post(sandbox, '/api/v1_1/user', '{"account_id": ')
    expect(invalid.status).toBe(400)
    expect(invalid.body.message).toMatch(/^invalid JSON/)
    const array = await post(sandbox, '/api/v1_1/user', '[1, 2]')
    expect(array.status).toBe(400)
    expect(array.body.message).toBe('the body must be a JSON object')
  })

  describe('authentication (checked before the body)', () => {
    it('answers 401 without a key, even to an invalid body', async () => {
      const sandbox = await pool.start()
      const answer = await post(sandbox, '/api/v1_1/user', '', null)
      expect(answer.status).toBe(401)
      expect(answer.body.success).toBe(false)
      expect(answer.body.message).toMatch(/missing API key/)
    })

    it('answers 401 to a wrong Bearer key without echoing it', async () => {
      const sandbox = await pool.start()
      const answer = await post(sandbox, '/api/v1_1/user', USER, bearer('wrong-secret'))
      expect(answer.status).toBe(401)
      expect(answer.body).toEqual({ success: false, message: 'invalid API key' })
    })

    it('answers 401 to a wrong Basic key, and to the right key with a password', async () => {
      const sandbox = await pool.start()
      expect((await post(sandbox, '/api/v1_1/user', USER, basicAuth('wrong'))).status).toBe(401)
      expect((await post(sandbox, '/api/v1_1/user', USER, basicAuth(KEY, 'pw'))).status).toBe(401)
      expect((await post(sandbox, '/api/v1_1/user', USER, `Basic ${Buffer.from(KEY).toString('base64')}`)).status).toBe(401)
    })

    it('answers 401 to another scheme', async () => {
      const sandbox = await pool.start()
      const answer = await post(sandbox, '/api/v1_1/user', USER, `Token ${KEY}`)
      expect(answer.status).toBe(401)
      expect(answer.body.message).toMatch(/unsupported authorization scheme "token"/)
    })

    it('defaults the key to sandbox-key', async () => {
      const sandbox = await pool.start({ apiKey: undefined })
      expect(sandbox.apiKey).toBe('sandbox-key')
      expect((await post(sandbox, '/api/v1_1/user', USER, bearer('sandbox-key'))).status).toBe(200)
    })
  })

  it('answers 404 to an unknown path and 405 to a GET on an endpoint', async () => {
    const sandbox = await pool.start()
    const unknown = await post(sandbox, '/api/v1_1/identify', USER)
    expect(unknown.status).toBe(404)
    expect(unknown.body).toEqual({ success: false, message: 'unknown endpoint: /api/v1_1/identify' })
    const get = await fetch(sandbox.url + '/api/v1_1/user')
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
  })

  it('answers 413 to a body over 1 MB', async () => {
    const sandbox = await pool.start()
    const answer = await post(sandbox, '/api/v1_1/user', { ...USER, blob: 'x'.repeat(1024 * 1024) })
    expect(answer.status).toBe(413)
  })

  it('rejects bad options before listening', async () => {
    await expect(pool.start({ port: -1 })).rejects.toThrow(/port must be an integer/)
    await expect(pool.start({ recordLimit: 0 })).rejects.toThrow(/recordLimit/)
    await expect(pool.start({ faults: { dropRate: 2 } })).rejects.toThrow(/faults.dropRate: expected a number from 0 to 1, got 2/)
  })
})
