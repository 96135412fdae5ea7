import {
  createRequestClient,
  createTestIntegration,
  Destination,
  IntegrationError,
  InvalidAuthenticationError,
  RetryableError
} from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import destination from '../..'
import nock from 'nock'
import { API_KEY, FAKE_CSB_URL, onEventSettings, settingsFor } from '../../__tests__/__helpers__/helpers'
import { CsbRejectionError, parseRetryAfter } from '../errors'
import { postToCsb } from '../request'

type ThrownError = Error & {
  status?: number
  retryAfterMs?: number
  responseStatus?: number
  networkErrorCode?: string
  code?: string
}

const identify: SegmentEvent = {
  type: 'identify',
  userId: 'u1',
  traits: { account_id: 'a1' },
  timestamp: '2024-01-08T10:00:00.000Z'
}

interface Answer {
  status: number
  headers?: Record<string, string>
  body?: unknown
}

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

/** CSB answers the next POST to /api/v1_1/user with `answer` (a string body is sent as text). */
function csbAnswers(answer: Answer): void {
  const text = typeof answer.body === 'string'
  nock(FAKE_CSB_URL)
    .post('/api/v1_1/user')
    .reply(
      answer.status,
      text || answer.body === undefined ? (answer.body as string) ?? '' : JSON.stringify(answer.body),
      {
        'content-type': text ? 'text/plain' : 'application/json',
        ...answer.headers
      }
    )
}

async function failureFor(answer: Answer): Promise<ThrownError> {
  csbAnswers(answer)
  return identifyError()
}

/** The error identifyUser throws for `identify` against the fake CSB (fails if it does not throw). */
async function identifyError(): Promise<ThrownError> {
  const error = await createTestIntegration(destination)
    .testAction('identifyUser', { event: identify, settings: settingsFor(FAKE_CSB_URL), useDefaultMappings: true })
    .then(
      () => undefined,
      (e: ThrownError) => e
    )
  if (!error) throw new Error('expected the action to throw')
  return error
}

function expectNoKey(error: Error): void {
  expect(error.message).not.toContain(API_KEY)
  expect(error.message).not.toContain(Buffer.from(`${API_KEY}:`).toString('base64'))
}

describe('HTTP answers become typed errors', () => {
  for (const status of [408, 429, 500, 502, 503, 504]) {
    it(`${status} is a RetryableError with status ${status} and no retryAfterMs without Retry-After`, async () => {
      const error = await failureFor({ status, body: { success: false, message: 'busy' } })
      expect(error).toBeInstanceOf(RetryableError)
      expect(error.status).toBe(status)
      expect(error.responseStatus).toBe(status)
      expect(error.retryAfterMs).toBeUndefined()
      expect(error.message).toContain(`CustomerSuccessBox answered ${status}`)
      expect(error.message).toContain('POST /api/v1_1/user: busy')
      expectNoKey(error)
    })
  }

  it('429 with Retry-After in seconds carries retryAfterMs', async () => {
    const error = await failureFor({ status: 429, headers: { 'retry-after': '7' }, body: { success: false } })
    expect(error).toBeInstanceOf(RetryableError)
    expect(error.status).toBe(429)
    expect(error.retryAfterMs).toBe(7000)
    expect(error.message).toContain('Retry-After 7000 ms')
  })

  it('408 with Retry-After carries retryAfterMs too', async () => {
    const error = await failureFor({ status: 408, headers: { 'retry-after': '2' } })
    expect(error).toBeInstanceOf(RetryableError)
    expect(error.retryAfterMs).toBe(2000)
  })

  it('503 with Retry-After as an HTTP date carries the delay until that date', async () => {
    const at = new Date(Date.now() + 120_000).toUTCString()
    const error = await failureFor({ status: 503, headers: { 'retry-after': at } })
    expect(error).toBeInstanceOf(RetryableError)
    expect(error.retryAfterMs).toBeGreaterThan(100_000)
    expect(error.retryAfterMs).toBeLessThanOrEqual(120_000)
  })

  it('401 is an InvalidAuthenticationError with status 401 that does not echo the key', async () => {
    const error = await failureFor({ status: 401, body: { success: false, message: 'invalid API key' } })
    expect(error).toBeInstanceOf(InvalidAuthenticationError)
    expect(error.status).toBe(401)
    expect(error.message).toContain('The API key was rejected')
    expectNoKey(error)
  })

  it('a server echoing the key in its body does not get it into the message', async () => {
    const error = await failureFor({ status: 400, body: { success: false, message: `bad key ${API_KEY}` } })
    expect(error.message).toContain('bad key [redacted]')
    expectNoKey(error)
  })

  for (const status of [400, 403, 404, 409, 422, 501]) {
    it(`${status} is a non-retryable IntegrationError with status ${status}`, async () => {
      const error = await failureFor({ status, body: { success: false, message: 'nope' } })
      expect(error).toBeInstanceOf(IntegrationError)
      expect(error).not.toBeInstanceOf(RetryableError)
      expect(error.status).toBe(status)
      expect(error.message).toContain(`answered ${status}`)
      expect(error.message).toContain('not retried')
    })
  }

  it('a non-JSON error body is quoted, shortened', async () => {
    const error = await failureFor({ status: 404, body: `<html>${'x'.repeat(1000)}</html>` })
    expect(error.message).toContain('<html>xxx')
    expect(error.message.length).toBeLessThan(500)
  })

  it("200 with success: false is a non-retryable CsbRejectionError carrying CSB's message", async () => {
    const error = await failureFor({ status: 200, body: { success: false, message: 'account is archived' } })
    expect(error).toBeInstanceOf(CsbRejectionError)
    expect(error).toBeInstanceOf(IntegrationError)
    expect(error).not.toBeInstanceOf(RetryableError)
    expect(error.status).toBe(400)
    expect(error.responseStatus).toBe(200)
    expect(error.code).toBe('CSB_REJECTED')
    expect(error.message).toBe(
      'CustomerSuccessBox rejected POST /api/v1_1/user with success: false: account is archived; not retried'
    )
  })

  it('200 with success: true, or with a non-JSON body, is delivered', async () => {
    csbAnswers({ status: 200, body: 'OK' })
    const responses = await createTestIntegration(destination).testAction('identifyUser', {
      event: identify,
      settings: settingsFor(FAKE_CSB_URL),
      useDefaultMappings: true
    })
    expect(responses.map((r) => r.status)).toStrictEqual([200])
  })
})

describe('requests without an HTTP answer become retryable errors', () => {
  it('connection refused: RetryableError, status 503, networkErrorCode ECONNREFUSED', async () => {
    nock(FAKE_CSB_URL).post('/api/v1_1/user').replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' })
    const error = await identifyError()
    expect(error).toBeInstanceOf(RetryableError)
    expect(error.status).toBe(503)
    expect(error.networkErrorCode).toBe('ECONNREFUSED')
    expect(error.message).toBe(
      'Could not reach CustomerSuccessBox at https://acme.customersuccessbox.com/api/v1_1/user (ECONNREFUSED); will retry'
    )
  })

  it('connection dropped without an answer: RetryableError, status 503, networkErrorCode ECONNRESET', async () => {
    nock(FAKE_CSB_URL).post('/api/v1_1/user').replyWithError({ code: 'ECONNRESET', message: 'socket hang up' })
    const error = await identifyError()
    expect(error).toBeInstanceOf(RetryableError)
    expect(error.status).toBe(503)
    expect(error.networkErrorCode).toBe('ECONNRESET')
  })

  it("the caller's AbortSignal timing out (the relay's request timeout): RetryableError, status 408", async () => {
    nock(FAKE_CSB_URL).post('/api/v1_1/user').delay(2000).reply(200, { success: true })
    const error = await new Destination(destination)
      .onEvent(identify, onEventSettings(FAKE_CSB_URL), { signal: AbortSignal.timeout(100) })
      .then(
        () => undefined,
        (e: ThrownError) => e
      )
    expect(error).toBeInstanceOf(RetryableError)
    expect(error?.status).toBe(408)
    expect(error?.networkErrorCode).toBe('REQUESTTIMEOUTERROR')
    expect(error?.message).toContain('before the timeout')
  })

  it("actions-core's own request timeout: RetryableError, status 408, networkErrorCode ETIMEDOUT", async () => {
    nock(FAKE_CSB_URL).post('/api/v1_1/user').delay(2000).reply(200, { success: true })
    const request = createRequestClient({ timeout: 100 })
    const error = await postToCsb(request, settingsFor(FAKE_CSB_URL), '/api/v1_1/user', {
      account_id: 'a',
      user_id: 'u'
    }).then(
      () => undefined,
      (e: ThrownError) => e
    )
    expect(error).toBeInstanceOf(RetryableError)
    expect(error?.status).toBe(408)
    expect(error?.networkErrorCode).toBe('ETIMEDOUT')
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-01-08T10:00:00Z')
  it('reads delta-seconds, fractional seconds and HTTP dates', () => {
    expect(parseRetryAfter('0', now)).toBe(0)
    expect(parseRetryAfter('30', now)).toBe(30_000)
    expect(parseRetryAfter(' 1.5 ', now)).toBe(1500)
    expect(parseRetryAfter('Mon, 08 Jan 2024 10:01:00 GMT', now)).toBe(60_000)
  })
  it('never returns a negative delay, and ignores what it cannot read', () => {
    expect(parseRetryAfter('Mon, 08 Jan 2024 09:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter('-5', now)).toBeUndefined()
    expect(parseRetryAfter('', now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })
})
