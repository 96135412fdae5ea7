import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { call, FEATURE, post, sandboxes, USER } from '../../test/helpers/sandbox'
import { sleep } from '../../test/helpers/wait'

const pool = sandboxes()
afterEach(() => pool.closeAll())

/** Resolves 'refused' | 'open' for a raw TCP connection attempt. */
function probe(port: number): Promise<'refused' | 'open'> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve('open')
    })
    socket.once('error', () => resolve('refused'))
  })
}

describe('faults over HTTP', () => {
  it('delays responses by a fixed latency', async () => {
    const sandbox = await pool.start({ faults: { latency: 200 } })
    const started = performance.now()
    const answer = await post(sandbox, '/api/v1_1/user', USER)
    expect(performance.now() - started).toBeGreaterThanOrEqual(200)
    expect(answer.status).toBe(200)
    expect(sandbox.requests()[0].latencyMs).toBe(200)
  })

  it('samples latency from a distribution and records each delay', async () => {
    const sandbox = await pool.start({ faults: { latency: { distribution: 'uniform', minMs: 5, maxMs: 40 } }, seed: 1 })
    await Promise.all(Array.from({ length: 20 }, () => post(sandbox, '/api/v1_1/user', USER)))
    const delays = sandbox.requests().map((r) => r.latencyMs ?? 0)
    expect(delays.every((d) => d >= 5 && d <= 40)).toBe(true)
    expect(new Set(delays).size).toBeGreaterThan(3)
  })

  it('answers injected errors at rate 1.0 and none at 0.0, recording the fault', async () => {
    const sandbox = await pool.start({ faults: { errors: { '503': 1 } } })
    const failed = await post(sandbox, '/api/v1_1/user', USER)
    expect(failed.status).toBe(503)
    expect(failed.body).toEqual({ success: false, message: 'injected error 503' })
    expect(sandbox.requests()[0]).toMatchObject({ status: 503, fault: 'error', response: failed.body })
    sandbox.setFaults({ errors: { '503': 0 } })
    for (let i = 0; i < 20; i++) expect((await post(sandbox, '/api/v1_1/user', USER)).status).toBe(200)
  })

  it('keeps an error rate within a statistical bound over many requests', async () => {
    const sandbox = await pool.start({ faults: { errors: { '500': 0.2 } }, seed: 42 })
    const answers = []
    for (let batch = 0; batch < 10; batch++) {
      answers.push(...(await Promise.all(Array.from({ length: 50 }, () => post(sandbox, '/api/v1_1/user', USER)))))
    }
    const failed = answers.filter((a) => a.status === 500).length
    // Binomial(500, 0.2): mean 100, standard deviation 8.9; ±40 is beyond four of them.
    expect(failed).toBeGreaterThan(60)
    expect(failed).toBeLessThan(140)
    expect(answers.every((a) => a.status === 200 || a.status === 500)).toBe(true)
  })

  it('throttles with 429 and Retry-After when set, without it when not', async () => {
    const sandbox = await pool.start({ faults: { throttle: { rate: 1, retryAfterSeconds: 2 } } })
    const withHeader = await post(sandbox, '/api/v1_1/feature', FEATURE)
    expect(withHeader.status).toBe(429)
    expect(withHeader.headers.get('retry-after')).toBe('2')
    sandbox.setFaults({ throttle: { rate: 1 } })
    const without = await post(sandbox, '/api/v1_1/feature', FEATURE)
    expect(without.status).toBe(429)
    expect(without.headers.get('retry-after')).toBeNull()
    expect(sandbox.requests().map((r) => r.fault)).toEqual(['throttle', 'throttle'])
  })

  it('rate-limits with a token bucket: the burst passes, then 429s', async () => {
    const sandbox = await pool.start({ faults: { rateLimit: { perSecond: 0.01, burst: 3, retryAfterSeconds: 5 } } })
    const answers = []
    for (let i = 0; i < 6; i++) answers.push(await post(sandbox, '/api/v1_1/user', USER))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429, 429])
    expect(answers[3].headers.get('retry-after')).toBe('5')
    expect(answers[3].body.message).toMatch(/rate limit exceeded/)
  })

  it('answers 503 during a status outage, then recovers', async () => {
    const sandbox = await pool.start()
    const set = await call(sandbox, 'POST', '/_sandbox/faults', { outage: { seconds: 0.4, retryAfterSeconds: 'auto' } })
    expect(set.body.outage).toMatchObject({ mode: 'status', status: 503, seconds: 0.4 })
    const during = await post(sandbox, '/api/v1_1/user', USER)
    expect(during.status).toBe(503)
    expect(during.headers.get('retry-after')).toBe('1')
    expect((await call(sandbox, 'GET', '/_sandbox/health')).body.outage).toBe('status')
    await sleep(500)
    expect((await post(sandbox, '/api/v1_1/user', USER)).status).toBe(200)
    expect(sandbox.faults().outage).toBeNull()
  })

  it('refuses connections during a refuse outage and listens again on the same port', async () => {
    const sandbox = await pool.start()
    expect((await post(sandbox, '/api/v1_1/user', USER)).status).toBe(200) // a keep-alive socket now exists
    const set = await call(sandbox, 'POST', '/_sandbox/faults', { outage: { seconds: 0.8, mode: 'refuse' } })
    expect(set.status).toBe(200)
    expect(set.body.outage.mode).toBe('refuse')
    expect(await probe(sandbox.port)).toBe('refused')
    await expect(post(sandbox, '/api/v1_1/user', USER)).rejects.toThrow()
    await sleep(1000)
    expect(await probe(sandbox.port)).toBe('open')
    expect((await post(sandbox, '/api/v1_1/user', USER)).status).toBe(200)
    expect(sandbox.faults().outage).toBeNull()
  })

  it('ends a refuse outage early when it is cleared in code', async () => {
    const sandbox = await pool.start()
    sandbox.setFaults({ outage: { seconds: 600, mode: 'refuse' } })
    expect(await probe(sandbox.port)).toBe('refused')
    sandbox.setFaults({ outage: null })
    await sleep(50)
    expect((await post(sandbox, '/api/v1_1/user', USER)).status).toBe(200)
  })

  it('drops connections without a response, recorded with status 0', async () => {
    const sandbox = await pool.start({ faults: { dropRate: 1 } })
    await expect(post(sandbox, '/api/v1_1/user', USER)).rejects.toThrow()
    expect(sandbox.requests()[0]).toMatchObject({ status: 0, response: null, fault: 'drop' })
  })

  it('fails one user by count with a targeted rule', async () => {
    const sandbox = await pool.start()
    await call(sandbox, 'POST', '/_sandbox/faults', {
      rules: [{ match: { path: '/api/v1_1/feature', body: { user_id: 'u1' } }, status: 503, count: 3, retryAfterSeconds: 2 }]
    })
    const other = await post(sandbox, '/api/v1_1/feature', { ...FEATURE, user_id: 'u2' })
    expect(other.status).toBe(200)
    const u1 = []
    for (let i = 0; i < 4; i++) u1.push(await post(sandbox, '/api/v1_1/feature', FEATURE))
    expect(u1.map((a) => a.status)).toEqual([503, 503, 503, 200])
    expect(u1[0].headers.get('retry-after')).toBe('2')
    expect((await call(sandbox, 'GET', '/_sandbox/faults')).body.rules[0]).toMatchObject({ hits: 3, expired: true })
  })

  it('fails one user for a time with a targeted rule, then lets it through', async () => {
    const sandbox = await pool.start()
    sandbox.setFaults({ rules: [{ match: { body: { user_id: 'u1' } }, status: 500, forSeconds: 0.3 }] })
    expect((await post(sandbox, '/api/v1_1/user', USER)).status).toBe(500)
    expect((await post(sandbox, '/api/v1_1/user', USER)).status).toBe(500)
    expect((await post(sandbox, '/api/v1_1/user', { ...USER, user_id: 'u2' })).status).toBe(200)
    await sleep(400)
    expect((await post(sandbox, '/api/v1_1/user', USER)).status).toBe(200)
  })

  it('never applies faults to /_sandbox endpoints or unknown paths', async () => {
    const sandbox = await pool.start({ faults: { errors: { '500': 1 }, latency: 5 } })
    expect((await call(sandbox, 'GET', '/_sandbox/health')).status).toBe(200)
    expect((await post(sandbox, '/api/v2/user', USER)).status).toBe(404)
    expect(sandbox.requests()[0].fault).toBeUndefined()
  })

  it('injects faults before CSB checks the key', async () => {
    const sandbox = await pool.start({ faults: { errors: { '502': 1 } } })
    expect((await post(sandbox, '/api/v1_1/user', USER, null)).status).toBe(502)
  })
})

describe('POST /_sandbox/faults', () => {
  it('merges partial updates, shows them at GET, and resets with {"reset": true} or DELETE', async () => {
    const sandbox = await pool.start()
    await call(sandbox, 'POST', '/_sandbox/faults', { latency: 20 })
    const merged = await call(sandbox, 'POST', '/_sandbox/faults', { errors: { '500': 0.1, '503': 0.05 } })
    expect(merged.status).toBe(200)
    expect(merged.body).toMatchObject({ latency: { distribution: 'fixed', ms: 20 }, errors: { '500': 0.1, '503': 0.05 } })
    expect((await call(sandbox, 'GET', '/_sandbox/faults')).body).toEqual(merged.body)
    expect(sandbox.faults()).toEqual(merged.body)
    const reset = await call(sandbox, 'POST', '/_sandbox/faults', { reset: true })
    expect(reset.body).toEqual({ latency: null, errors: {}, throttle: null, rateLimit: null, outage: null, dropRate: 0, rules: [] })
    await call(sandbox, 'POST', '/_sandbox/faults', { dropRate: 0.5 })
    expect((await call(sandbox, 'DELETE', '/_sandbox/faults')).body.dropRate).toBe(0)
    sandbox.setFaults({ latency: 3 })
    sandbox.clearFaults()
    expect(sandbox.faults().latency).toBeNull()
  })

  it('answers 400 naming the problem and keeps the faults as they were', async () => {
    const sandbox = await pool.start({ faults: { latency: 1 } })
    const bad = await call(sandbox, 'POST', '/_sandbox/faults', { errors: { '500': 2 } })
    expect(bad.status).toBe(400)
    expect(bad.body).toEqual({ success: false, message: 'faults.errors["500"]: expected a number from 0 to 1, got 2' })
    expect((await call(sandbox, 'POST', '/_sandbox/faults', '{oops')).body.message).toMatch(/^invalid JSON/)
    expect((await call(sandbox, 'POST', '/_sandbox/faults', '')).body.message).toMatch(/^empty body/)
    expect(sandbox.faults().latency).toEqual({ distribution: 'fixed', ms: 1 })
    expect(sandbox.faults().errors).toEqual({})
  })
})
