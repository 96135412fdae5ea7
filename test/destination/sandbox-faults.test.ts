import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Destination, RetryableError } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import destination from '../../src/destination'
import { onEventSettings } from './helpers'

type ThrownError = Error & { status?: number; retryAfterMs?: number; networkErrorCode?: string }

let csb: Sandbox
beforeAll(async () => {
  csb = await startSandbox({ port: 0 })
})
afterAll(async () => {
  await csb.close()
})
beforeEach(() => {
  csb.clearFaults()
  csb.clearRequests()
})

const track: SegmentEvent = { type: 'track', event: 'Clicked', userId: 'u1', properties: { account_id: 'a1' } }

async function outcome(): Promise<ThrownError | undefined> {
  return new Destination(destination).onEvent(track, { ...onEventSettings(csb.url), apiKey: csb.apiKey }).then(
    () => undefined,
    (e: ThrownError) => e
  )
}

describe("error mapping against the sandbox's faults", () => {
  it('a throttled 429 with Retry-After becomes a RetryableError with retryAfterMs', async () => {
    csb.setFaults({ throttle: { rate: 1, retryAfterSeconds: 3 } })
    const error = await outcome()
    expect(error).toBeInstanceOf(RetryableError)
    expect(error?.status).toBe(429)
    expect(error?.retryAfterMs).toBe(3000)
  })

  it('a throttled 429 without Retry-After has no retryAfterMs', async () => {
    csb.setFaults({ throttle: { rate: 1 } })
    const error = await outcome()
    expect(error?.status).toBe(429)
    expect(error?.retryAfterMs).toBeUndefined()
  })

  it('a 502 rule is retryable, a 501 rule is not', async () => {
    csb.setFaults({ rules: [{ match: { path: '/api/v1_1/feature' }, status: 502, count: 1 }] })
    const bad = await outcome()
    expect(bad).toBeInstanceOf(RetryableError)
    expect(bad?.status).toBe(502)
    csb.setFaults({ rules: [{ match: { path: '/api/v1_1/feature' }, status: 501, count: 1 }] })
    const notImplemented = await outcome()
    expect(notImplemented).not.toBeInstanceOf(RetryableError)
    expect(notImplemented?.status).toBe(501)
  })

  it('a dropped connection is retryable with status 503', async () => {
    csb.setFaults({ dropRate: 1 })
    const error = await outcome()
    expect(error).toBeInstanceOf(RetryableError)
    expect(error?.status).toBe(503)
    expect(typeof error?.networkErrorCode).toBe('string')
  })

  it('delivers once the faults are cleared', async () => {
    expect(await outcome()).toBeUndefined()
    expect(csb.requests().map((r) => r.status)).toStrictEqual([200])
  })
})
