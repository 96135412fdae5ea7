/**
 * A CustomerSuccessBox stand-in on nock: it answers like CSB (401 for a wrong key, 400 for a
 * body without the endpoint's ids, 404 for an unknown path, else 200 `{"success": true}`) and
 * records every request. Outside this folder, csb-relay runs the same tests against its sandbox
 * by replacing this module (test/destination/against-sandbox.test.ts).
 */
import nock from 'nock'
import { FAKE_CSB_KEY, FAKE_CSB_URL } from './helpers'

export interface CsbRequest {
  method: string
  path: string
  headers: Record<string, string>
  body: unknown
  status: number
}

export interface FakeCsb {
  readonly url: string
  readonly apiKey: string
  requests(): CsbRequest[]
  clearRequests(): void
}

/** The ids each CSB endpoint requires (the spec's table). */
const REQUIRED_IDS: Record<string, string[]> = {
  '/api/v1_1/user': ['account_id', 'user_id'],
  '/api/v1_1/account': ['account_id'],
  '/api/v1_1/feature': ['account_id', 'user_id', 'product_id', 'module_id', 'feature_id'],
  '/api/v1_1/login': ['account_id', 'user_id'],
  '/api/v1_1/logout': ['account_id', 'user_id'],
  '/api_js/v1_1/page': ['account_id', 'user_id']
}

function keyAccepted(authorization: string | undefined, apiKey: string): boolean {
  if (authorization === `Bearer ${apiKey}`) return true
  return authorization === `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
}

function answer(path: string, authorization: string | undefined, body: unknown): [number, Record<string, unknown>] {
  const required = REQUIRED_IDS[path]
  if (!required) return [404, { success: false, message: 'not found' }]
  if (!keyAccepted(authorization, FAKE_CSB_KEY)) return [401, { success: false, message: 'invalid API key' }]
  const record = (body ?? {}) as Record<string, unknown>
  const missing = required.filter((id) => isBlank(record[id]))
  if (missing.length > 0) return [400, { success: false, message: `missing required field: ${missing.join(', ')}` }]
  return [200, { success: true }]
}

function parse(body: unknown): unknown {
  if (typeof body !== 'string') return body
  try {
    return JSON.parse(body)
  } catch {
    return body
  }
}

/**
 * A fake CSB for the tests of one file: interceptors are installed before each test (Segment's
 * jest setup removes every nock interceptor before each test) and recorded requests forgotten.
 */
export function useFakeCsb(): FakeCsb {
  const recorded: CsbRequest[] = []
  beforeAll(() => {
    nock.disableNetConnect()
    nock.enableNetConnect('127.0.0.1')
  })
  beforeEach(() => {
    recorded.length = 0
    nock.cleanAll()
    nock(FAKE_CSB_URL)
      .persist()
      .post(/.*/)
      .reply(function (path, requestBody) {
        const headers: Record<string, string> = {}
        for (const [name, value] of Object.entries(this.req.headers)) headers[name.toLowerCase()] = String(value)
        const body = parse(requestBody)
        const [status, reply] = answer(path, headers.authorization, body)
        recorded.push({ method: this.req.method ?? 'POST', path, headers, body, status })
        return [status, reply]
      })
  })
  afterAll(() => {
    nock.cleanAll()
  })
  return {
    url: FAKE_CSB_URL,
    apiKey: FAKE_CSB_KEY,
    requests: () => [...recorded],
    clearRequests: () => {
      recorded.length = 0
    }
  }
}
