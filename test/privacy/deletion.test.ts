/**
 * User deletion end to end, SQLite: HTTP → `csb-relay start` (the built relay) → the CSB sandbox,
 * down while the user's events wait. Before the regulation a unique marker from the user's
 * traits is in the store's files; once it is FINISHED, no file of the store folder holds it,
 * and when CSB is back every other user's events are delivered and none of the user's.
 * PostgreSQL's counterpart (checked by SQL) is in regulations-pg.test.ts.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { accepted, fastDeliveryConfig } from '../helpers/delivery'
import { assertBuilt, startRelayProcess, type RelayProcess } from '../helpers/processes'
import { tempDir } from '../helpers/temp'
import { waitFor } from '../helpers/wait'
import { filesContaining, filesIn, regulate, send, settled, type RegulationAnswer } from './regulations-helpers'

const WRITE_KEY = 'wk-deletion-test'
const ACCOUNT = 'acc-deletion'
const ERASED = 'u-erased'
const MARKER = `marker-${randomBytes(8).toString('hex')}`
const OTHERS = 40
/** Events per other user in the large batch (over the size that goes to a parse thread and, with SQLite, the inbox). */
const PER_OTHER = 5

const identify = (userId: string, i: number, traits: Record<string, unknown> = {}) => ({
  type: 'identify', messageId: `del-${userId}-${i}`, userId, traits: { account_id: ACCOUNT, name: `${userId} ${i}`, ...traits }
})
const track = (userId: string, i: number, properties: Record<string, unknown> = {}) => ({
  type: 'track', messageId: `del-t-${userId}-${i}`, userId, event: `Deletion Feature ${i}`, properties: { account_id: ACCOUNT, ...properties }
})

describe('deletion end to end (SQLite): pending events of a user purged while CSB is down', () => {
  let sandbox: Sandbox
  let relay: RelayProcess
  let before: string[]
  let regulationAnswer: RegulationAnswer

  beforeAll(async () => {
    assertBuilt()
    sandbox = await startSandbox({ port: 0 })
    sandbox.setFaults({ outage: { seconds: 3600, status: 503 } })
    relay = await startRelayProcess({
      dir: tempDir('deletion'),
      env: { LOG_LEVEL: 'warn' },
      config: {
        sources: [{ name: 'deletion-test', writeKey: WRITE_KEY }],
        csb: { apiKey: sandbox.apiKey, baseUrl: sandbox.url },
        delivery: fastDeliveryConfig
      }
    })
    // The user: one identify alone (parsed on the request thread), and events inside a large batch
    // among every other user's (parsed on a parse thread, admitted to SQLite's inbox as it came).
    expect(await send(relay.url, WRITE_KEY, 'identify', identify(ERASED, 0, { email: `${MARKER}@example.com` }))).toBe(200)
    const batch: unknown[] = []
    for (let i = 0; i < PER_OTHER; i++) {
      for (let u = 0; u < OTHERS; u++) batch.push(track(`u-other-${u}`, i, { note: 'x'.repeat(60) }))
      batch.push(identify(ERASED, i + 1, { nickname: MARKER }), track(ERASED, i, { marker: MARKER }))
    }
    expect(JSON.stringify({ batch }).length).toBeGreaterThan(32 * 1024)
    expect(await send(relay.url, WRITE_KEY, 'batch', { batch })).toBe(200)
    // Delivery has met the outage: the events wait, retrying.
    await waitFor('attempts refused by the outage', () => sandbox.requests().filter((r) => r.status === 503).length >= 10)
    before = filesContaining(relay.dir, MARKER)
    regulationAnswer = await settled(relay.url, await regulate(relay.url, 'DELETE_ONLY', [ERASED]))
  })

  afterAll(async () => {
    const code = await relay?.stop()
    await sandbox?.close()
    if (relay) fs.rmSync(relay.dir, { recursive: true, force: true })
    expect(code).toEqual({ code: 0, signal: null })
  })

  it('before: the marker is in the store\'s files', () => {
    expect(before.length).toBeGreaterThan(0)
    expect(before.every((f) => f.startsWith('relay.db'))).toBe(true)
  })

  it('the regulation FINISHED, counting the user\'s events it deleted', () => {
    expect(regulationAnswer).toMatchObject({ status: 'FINISHED', regulationType: 'DELETE_ONLY', error: null, origin: 'api' })
    // 1 + 2 × PER_OTHER events, one delivery row each (CSB only), some perhaps still admitted.
    expect(regulationAnswer.counts.events + regulationAnswer.counts.admittedEvents).toBe(1 + 2 * PER_OTHER)
  })

  it('after: no file of the store folder holds the marker', () => {
    const files = filesIn(relay.dir)
    expect(files).toContain('relay.db')
    expect(filesContaining(relay.dir, MARKER)).toEqual([])
  })

  it('once CSB is back, every other user\'s events are delivered and none of the user\'s', async () => {
    const refusedBefore = sandbox.requests().length
    sandbox.setFaults({ outage: null })
    await waitFor('every other user\'s events delivered', () => accepted(sandbox, '/api/v1_1/feature').length >= OTHERS * PER_OTHER, { timeoutMs: 60_000 })
    // Anything of the user still queued would have gone out with the rest, and some more time.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const features = accepted(sandbox, '/api/v1_1/feature')
    expect(features).toHaveLength(OTHERS * PER_OTHER)
    const mentionsUser = (r: { body: unknown }) => JSON.stringify(r.body).includes(ERASED) || JSON.stringify(r.body).includes(MARKER)
    expect(sandbox.requests().slice(refusedBefore).filter(mentionsUser)).toEqual([])
    expect(accepted(sandbox).filter(mentionsUser)).toEqual([])
    const users = new Set(features.map((r) => (r.body as { user_id: string }).user_id))
    expect(users.size).toBe(OTHERS)
  })
})
