import { describe, expect, it } from 'vitest'
import { PayloadValidationError } from '@segment/actions-core'
import { decide, describeFailure } from './classify'
import { errorForHttpStatus, errorForNetworkFailure, rejectionError } from '../destination/common/errors'

const settings = { backoffBaseMs: 1000, backoffCapMs: 300_000, retryWindowMs: 24 * 3_600_000 }
const now = new Date('2026-01-01T12:00:00Z')
const http = (status: number, retryAfter?: string) => errorForHttpStatus({ status, path: '/api/v1_1/user', retryAfter })

describe('describeFailure: which failures are retried', () => {
  it.each([408, 429, 500, 502, 503, 504, 599])('HTTP %i is retryable', (status) => {
    const facts = describeFailure(http(status), status)
    expect(facts.retryable).toBe(true)
    expect(facts.status).toBe(status)
    expect(facts.reason).toContain(`HTTP ${status}`)
  })

  it.each([400, 401, 403, 404, 409, 422, 501])('HTTP %i is not retryable', (status) => {
    expect(describeFailure(http(status), status).retryable).toBe(false)
  })

  it('timeouts and connection errors are retryable congestion signals', () => {
    for (const code of ['ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET']) {
      const err = errorForNetworkFailure(Object.assign(new Error('boom'), { code }), 'http://127.0.0.1:1/api/v1_1/user')
      const facts = describeFailure(err, null)
      expect(facts.retryable).toBe(true)
      expect(facts.congestion).toBe(true)
      expect(facts.status).toBeNull()
      expect(facts.reason).toContain(code)
    }
  })

  it('raw network errors (not wrapped by the destination) are retryable too', () => {
    expect(describeFailure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })).retryable).toBe(true)
    expect(describeFailure(Object.assign(new Error('x'), { name: 'TimeoutError' })).retryable).toBe(true)
  })

  it('a 200 with success:false is a rejection, not retried', () => {
    const facts = describeFailure(rejectionError('/api/v1_1/user', 'bad user'), 200)
    expect(facts.retryable).toBe(false)
    expect(facts.reason).toContain('bad user')
  })

  it('a missing id (payload validation) is not retried and says which field', () => {
    const facts = describeFailure(new PayloadValidationError('account_id is missing'), null)
    expect(facts.retryable).toBe(false)
    expect(facts.reason).toContain('account_id')
  })

  it('an unexpected exception is dead-lettered, not retried', () => {
    expect(describeFailure(new TypeError('x is undefined')).retryable).toBe(false)
  })

  it('takes Retry-After from the error or from the response', () => {
    expect(describeFailure(http(429, '3'), 429).retryAfterMs).toBe(3000)
    expect(describeFailure(http(429), 429, 1500).retryAfterMs).toBe(1500)
    expect(describeFailure(http(429), 429).retryAfterMs).toBeNull()
  })

  it('429 and 5xx are congestion, 408 from CSB too; 4xx is not', () => {
    expect(describeFailure(http(429), 429).congestion).toBe(true)
    expect(describeFailure(http(503), 503).congestion).toBe(true)
    expect(describeFailure(http(400), 400).congestion).toBe(false)
  })
})

describe('decide: retry at a time, or dead letter', () => {
  const retryable = describeFailure(http(503), 503)

  it('retries a retryable failure with backoff from now', () => {
    const d = decide(retryable, 3, null, now, settings, () => 0.5)
    expect(d).toEqual({ kind: 'retry', runAt: new Date(now.getTime() + 2000), firstFailedAt: now })
  })

  it('dead-letters a non-retryable failure at once, keeping the reason', () => {
    const d = decide(describeFailure(http(400), 400), 1, null, now, settings)
    expect(d.kind).toBe('dead')
    expect(d.kind === 'dead' && d.reason).toContain('HTTP 400')
  })

  it('counts the retry window from the first failure, then dead-letters', () => {
    const first = new Date(now.getTime() - settings.retryWindowMs)
    const d = decide(retryable, 40, first, now, settings)
    expect(d.kind).toBe('dead')
    expect(d.kind === 'dead' && d.reason).toMatch(/retry window \(24 h\) exhausted after 40 attempts; last error HTTP 503/)
  })

  it('never schedules a retry past the end of the window', () => {
    const first = new Date(now.getTime() - settings.retryWindowMs + 1000)
    const d = decide(retryable, 30, first, now, settings, () => 0.99)
    expect(d.kind === 'retry' && d.runAt.getTime()).toBe(now.getTime() + 1000)
  })

  it('honours Retry-After', () => {
    const d = decide(describeFailure(http(429, '10'), 429), 1, null, now, settings, () => 0)
    expect(d.kind === 'retry' && d.runAt.getTime() - now.getTime()).toBe(10_000)
  })
})
