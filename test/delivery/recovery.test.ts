/**
 * Recovery after an outage (src/delivery/recovery.ts): what counts as a recovery, and, through
 * the built relay against the sandbox, 1,500 events held through a 14 s 503 outage drain within
 * 5 s of its end without more attempts during it. The same scenario with the recovery off (each
 * event waits out its own backoff: half a minute to a minute) runs in bench/recovery.ts,
 * which prints both runs side by side; it is too slow for every test run.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { RecoveryWatch, type RecoveryOptions } from '../../src/delivery/recovery'
import type { ExpediteOptions } from '../../src/store'
import { removeTempDirs } from '../helpers/temp'
import { assertBuilt } from '../helpers/processes'
import { describeRun, runRecoveryScenario } from './recovery-scenario'
import { enqueue, fastDelivery, segmentEvent, silentLogger, startRig, waitFor, type Rig } from './helpers'

afterAll(removeTempDirs)

function watch(settings: RecoveryOptions['settings'] = { wakeOnRecovery: true, recoveryAfterMs: 2000 }) {
  const calls: ExpediteOptions[] = []
  let wakes = 0
  const w = new RecoveryWatch({
    store: { expediteRetries: async (o) => (calls.push(o), 7) },
    settings,
    logger: silentLogger(),
    settled: async () => undefined,
    recovered: () => void wakes++
  })
  const settle = () => new Promise((r) => setTimeout(r, 20))
  return { w, calls, wakes: () => wakes, settle }
}

describe('what counts as a recovery', () => {
  it('the first success after 3 outage failures over at least recoveryAfterMs makes that destination\'s retries due, once', async () => {
    const { w, calls, wakes, settle } = watch()
    w.answered('CSB', 'outage', 1000)
    w.answered('CSB', 'outage', 2000)
    w.answered('CSB', 'other', 2500)
    w.answered('CSB', 'outage', 3000)
    w.answered('CSB', 'success', 3000)
    w.answered('CSB', 'success', 3100)
    await settle()
    expect(calls).toEqual([{ destination: 'CSB', failedSince: new Date(1000) }])
    expect(wakes()).toBe(1)
  })

  it('a short failure run, or one of fewer than 3 failures, wakes nothing (a scattered error rate is not an outage)', async () => {
    const { w, calls, settle } = watch()
    for (let t = 0; t < 100; t += 10) w.answered('CSB', 'outage', t)
    w.answered('CSB', 'success', 1999)
    w.answered('CSB', 'outage', 5000)
    w.answered('CSB', 'outage', 9000)
    w.answered('CSB', 'success', 12_000)
    await settle()
    expect(calls).toEqual([])
  })

  it('each destination has its own outage; wakeOnRecovery false turns it off', async () => {
    const on = watch()
    for (const t of [0, 1000, 2000]) on.w.answered('hooks', 'outage', t)
    on.w.answered('CSB', 'success', 3000)
    on.w.answered('hooks', 'success', 3000)
    await on.settle()
    expect(on.calls.map((c) => c.destination)).toEqual(['hooks'])
    const off = watch({ wakeOnRecovery: false, recoveryAfterMs: 2000 })
    for (const t of [0, 1000, 2000]) off.w.answered('CSB', 'outage', t)
    off.w.answered('CSB', 'success', 3000)
    await off.settle()
    expect(off.calls).toEqual([])
  })
})

describe('a recovery in process', () => {
  let rig: Rig | undefined
  afterEach(async () => {
    await rig?.close()
    rig = undefined
  })

  it('keeps the wait CSB asked for: an event given a Retry-After during the outage still waits when the rest are made due', async () => {
    rig = await startRig({ delivery: { ...fastDelivery, recoveryAfterMs: 300, backoffBaseMs: 400, backoffCapMs: 60_000 } })
    const r = rig
    r.sandbox.setFaults({
      rules: [
        { match: { body: { user_id: 'asked' } }, status: 503, retryAfterSeconds: 30, count: 1 },
        { match: { path: '/api/v1_1/feature' }, status: 503, forSeconds: 1.5 }
      ]
    })
    const users = ['asked', ...Array.from({ length: 10 }, (_, i) => `u${i}`)]
    const [asked] = await enqueue(r.store, users.map((u) => segmentEvent({ type: 'track', userId: u, event: 'Clicked', properties: { account_id: 'acc' } })))
    const recovery = await waitFor('a recovery', () => r.logger.lines.find((l) => l.msg?.includes('its retries are due now')), 20_000)
    await waitFor('the others delivered', async () => (await r.store.counts()).delivered === users.length - 1, 10_000)
    expect(recovery.obj).toMatchObject({ destination: 'CustomerSuccessBox' })
    expect(recovery.obj.events).toBeGreaterThan(0)
    const waiting = await r.store.get(asked)
    expect(waiting?.status).toBe('pending')
    expect(waiting!.runAt.getTime()).toBeGreaterThan(Date.now() + 20_000)
  })
})

describe('recovery through the built relay', () => {
  it('1,500 events held through a 14 s 503 outage drain within 5 s of its end; attempts during it stay bounded', { timeout: 180_000 }, async () => {
    assertBuilt()
    const users = 500
    const run = await runRecoveryScenario({ wakeOnRecovery: true, users, perUser: 3, outageSeconds: 14 })
    console.log(describeRun('recovery on (delivery.wakeOnRecovery: true)', run))
    console.log('recovery off: see `npx tsx bench/recovery.ts` (each event waits out its own backoff; half a minute to a minute)')
    expect(run.events).toBe(1500)
    expect(run.recovered).toBe(true)
    expect(run.drainMs).toBeLessThan(5000)
    // Exponential backoff from 1 s gives each key's head about log2(14) + 1 attempts in 14 s; a
    // storm (a retry per poll or per wake) would give hundreds per key.
    expect(run.outageAttempts).toBeGreaterThan(users)
    expect(run.outageAttempts).toBeLessThan(users * 8)
  })
})
