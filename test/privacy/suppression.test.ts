/**
 * Suppression end to end: HTTP → `csb-relay start` (the built relay, SQLite) → the CSB sandbox.
 * A suppressed user's events are answered 200 and never delivered while other users' are;
 * after UNSUPPRESS their new events are delivered again; the dropped events are counted in
 * /metrics, `/api/overview` (dashboard) and `csb-relay status`. A suppressed user's events inside
 * a large batch (a parse thread's, admitted to SQLite's inbox) are never stored: a marker from
 * them is in no file of the relay's folder. Two instances on PostgreSQL are in
 * regulations-pg.test.ts.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { accepted, fastDeliveryConfig } from '../helpers/delivery'
import { assertBuilt, runToExit, startRelayProcess, type RelayProcess } from '../helpers/processes'
import { tempDir } from '../helpers/temp'
import { waitFor } from '../helpers/wait'
import { filesContaining, metricValue, regulate, send, settled } from './regulations-helpers'

const WRITE_KEY = 'wk-suppression-test'
const ACCOUNT = 'acc-suppression'

const feature = (userId: string, name: string) => ({
  type: 'track', userId, event: name, messageId: `supp-${userId}-${name}`, properties: { account_id: ACCOUNT }
})
/** In the hidden user's events of the large batch only. */
const MARKER = `marker-${randomBytes(8).toString('hex')}`
const CROWD = 5
const ROUNDS = 40

describe('suppression end to end: HTTP → csb-relay start → sandbox', () => {
  let sandbox: Sandbox
  let relay: RelayProcess

  beforeAll(async () => {
    assertBuilt()
    sandbox = await startSandbox({ port: 0 })
    relay = await startRelayProcess({
      dir: tempDir('suppression'),
      env: { LOG_LEVEL: 'warn' },
      config: {
        sources: [{ name: 'suppression-test', writeKey: WRITE_KEY }],
        csb: { apiKey: sandbox.apiKey, baseUrl: sandbox.url },
        delivery: fastDeliveryConfig
      }
    })
  })

  afterAll(async () => {
    const code = await relay?.stop()
    await sandbox?.close()
    // Stopped: the WAL checkpointed into the database, every file as the relay left it.
    const holding = relay ? filesContaining(relay.dir, MARKER) : []
    if (relay) fs.rmSync(relay.dir, { recursive: true, force: true })
    expect(code).toEqual({ code: 0, signal: null })
    expect(holding).toEqual([])
  })

  const delivered = (userId: string) =>
    accepted(sandbox, '/api/v1_1/feature').filter((r) => (r.body as { user_id: string }).user_id === userId).map((r) => (r.body as { feature_id: string }).feature_id)

  it('a suppressed user\'s events are answered 200 and not delivered; other users\' are', async () => {
    expect(await settled(relay.url, await regulate(relay.url, 'SUPPRESS_ONLY', ['u-quiet']))).toMatchObject({ status: 'FINISHED', counts: { suppressed: 1 } })
    // One by one (each route) and in a batch beside another user's.
    expect(await send(relay.url, WRITE_KEY, 'track', feature('u-quiet', 'Alone'))).toBe(200)
    expect(await send(relay.url, WRITE_KEY, 'identify', { type: 'identify', userId: 'u-quiet', traits: { account_id: ACCOUNT } })).toBe(200)
    const batch = ['B1', 'B2', 'B3'].flatMap((n) => [feature('u-quiet', n), feature('u-loud', n)])
    expect(await send(relay.url, WRITE_KEY, 'batch', { batch })).toBe(200)
    await waitFor('u-loud\'s events delivered', () => delivered('u-loud').length === 3)
    // A marker sent last by the same source: anything of u-quiet queued before it would be out by now.
    expect(await send(relay.url, WRITE_KEY, 'track', feature('u-loud', 'Last'))).toBe(200)
    await waitFor('the marker delivered', () => delivered('u-loud').includes('Last'))
    expect(delivered('u-quiet')).toEqual([])
    expect(sandbox.requests().filter((r) => JSON.stringify(r.body).includes('u-quiet'))).toEqual([])
  })

  it('counts the dropped events in /metrics, the overview (dashboard) and csb-relay status', async () => {
    const metrics = await (await fetch(`${relay.url}/metrics`)).text()
    expect(metricValue(metrics, 'csb_relay_suppressed_events_total')).toBe(5)
    expect(metrics).toContain('# TYPE csb_relay_suppressed_events_total counter')
    const overview = (await (await fetch(`${relay.url}/api/overview`)).json()) as { suppressedEvents: number }
    expect(overview.suppressedEvents).toBe(5)
    const status = await runToExit(['status', '--url', relay.url])
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).toMatch(/^Suppressed: 5 event\(s\) of suppressed users answered and dropped/m)
  })

  it('after UNSUPPRESS, the user\'s new events are delivered again; those dropped stay dropped', async () => {
    expect(await settled(relay.url, await regulate(relay.url, 'UNSUPPRESS', ['u-quiet', 'u-never']))).toMatchObject({
      status: 'FINISHED', counts: { unsuppressed: 1 }
    })
    expect(await send(relay.url, WRITE_KEY, 'track', feature('u-quiet', 'Back'))).toBe(200)
    await waitFor('u-quiet\'s new event delivered', () => delivered('u-quiet').length > 0)
    expect(delivered('u-quiet')).toEqual(['Back'])
    const metrics = await (await fetch(`${relay.url}/metrics`)).text()
    expect(metricValue(metrics, 'csb_relay_suppressed_events_total')).toBe(5)
  })
  it('a large batch holding a suppressed user\'s events is answered 200, the others\' delivered, the user\'s marker in no file', async () => {
    expect(await settled(relay.url, await regulate(relay.url, 'SUPPRESS_ONLY', ['u-hidden']))).toMatchObject({ status: 'FINISHED', counts: { suppressed: 1 } })
    const batch: unknown[] = []
    for (let i = 0; i < ROUNDS; i++) {
      for (let u = 0; u < CROWD; u++) batch.push({ ...feature(`u-crowd-${u}`, `Crowd ${i}`), context: { note: 'x'.repeat(400) } })
      batch.push({ ...feature('u-hidden', `Hidden ${i}`), context: { traits: { nickname: MARKER } } })
    }
    expect(JSON.stringify({ batch }).length).toBeGreaterThan(100 * 1024)
    expect(await send(relay.url, WRITE_KEY, 'batch', { batch })).toBe(200)
    await waitFor('the crowd\'s events delivered', () => Array.from({ length: CROWD }, (_, u) => delivered(`u-crowd-${u}`)).every((d) => d.length === ROUNDS))
    for (let u = 0; u < CROWD; u++) expect(delivered(`u-crowd-${u}`)).toEqual(Array.from({ length: ROUNDS }, (_, i) => `Crowd ${i}`))
    expect(delivered('u-hidden')).toEqual([])
    expect(sandbox.requests().filter((r) => JSON.stringify(r.body).includes(MARKER))).toEqual([])
    // Whatever the relay wrote is in its files now (the database or its WAL); afterAll looks again once it stopped.
    expect(filesContaining(relay.dir, MARKER)).toEqual([])
    const metrics = await (await fetch(`${relay.url}/metrics`)).text()
    expect(metricValue(metrics, 'csb_relay_suppressed_events_total')).toBe(5 + ROUNDS)
  })
})
