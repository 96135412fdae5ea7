/**
 * Routing with real SDK traffic: @segment/analytics-node → `csb-relay start` (a child process,
 * config file with filters) → the CSB sandbox. Each integrations combination is delivered or
 * skipped as documented, skips are counted with their reason, blocked traits never reach the
 * sandbox, and a broken rule stops the relay at start with exit code 2.
 */
import { Analytics } from '@segment/analytics-node'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { openStore, type Store } from '../../src/store'
import { assertBuilt, runToExit, startRelayProcess, writeConfig, type RelayProcess } from '../helpers/processes'
import { removeTempDirs, tempDir } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

const WRITE_KEY = 'wk-routing-test'
const ACCOUNT = 'acc-routing'

/** userId → the integrations object it is sent with, and the documented outcome. */
const INTEGRATION_CASES: Array<{ userId: string; integrations?: Record<string, boolean | Record<string, unknown>>; skip?: string }> = [
  { userId: 'u-absent' },
  { userId: 'u-empty', integrations: {} },
  { userId: 'u-csb-false', integrations: { CustomerSuccessBox: false }, skip: 'integrations.CustomerSuccessBox is false' },
  { userId: 'u-all-false', integrations: { All: false }, skip: 'integrations.All is false and CustomerSuccessBox is not enabled' },
  { userId: 'u-all-false-other-true', integrations: { All: false, Intercom: true }, skip: 'integrations.All is false and CustomerSuccessBox is not enabled' },
  { userId: 'u-all-false-csb-true', integrations: { All: false, CustomerSuccessBox: true } },
  { userId: 'u-all-false-csb-object', integrations: { All: false, CustomerSuccessBox: { anything: 1 } } },
  { userId: 'u-all-true-csb-false', integrations: { All: true, CustomerSuccessBox: false }, skip: 'integrations.CustomerSuccessBox is false' },
  { userId: 'u-actions-name-false', integrations: { 'CustomerSuccessBox (Actions)': false }, skip: 'integrations.CustomerSuccessBox (Actions) is false' },
  { userId: 'u-all-false-actions-true', integrations: { All: false, 'Actions CustomerSuccessBox': true } },
  { userId: 'u-other-false', integrations: { Intercom: false } }
]

const FILTERS = [
  { name: 'no PII', block: ['traits.email', 'traits.phone', 'context.traits.email', 'properties.email'] },
  { name: 'no internal', drop: 'properties.internal = true' },
  // Would drop u-pii if it ran before the block: proves the order of application.
  { name: 'after the block', drop: 'traits.email = "ann@secret.test"' }
]

const SECRET = 'secret.test'

describe('routing end to end: analytics-node → csb-relay start → sandbox', () => {
  let sandbox: Sandbox
  let relay: RelayProcess
  let store: Store
  const total = INTEGRATION_CASES.length + 3

  beforeAll(async () => {
    assertBuilt()
    sandbox = await startSandbox({ port: 0 })
    relay = await startRelayProcess({
      config: { logLevel: 'warn', sources: [{ name: 'routing-test', writeKey: WRITE_KEY }], csb: { apiKey: sandbox.apiKey, baseUrl: sandbox.url }, filters: FILTERS }
    })

    const analytics = new Analytics({ writeKey: WRITE_KEY, host: relay.url, path: '/v1/batch', flushAt: 5, flushInterval: 50, maxRetries: 3 })
    for (const c of INTEGRATION_CASES) {
      analytics.identify({ userId: c.userId, traits: { account_id: ACCOUNT, name: c.userId }, ...(c.integrations ? { integrations: c.integrations } : {}) })
    }
    analytics.identify({ userId: 'u-pii', traits: { account_id: ACCOUNT, name: 'Ann', email: 'ann@secret.test', phone: '+1 555 0100' } })
    analytics.track({ userId: 'u-internal', event: 'Internal Thing', properties: { account_id: ACCOUNT, internal: true } })
    analytics.track({ userId: 'u-feature', event: 'Report Exported', properties: { account_id: ACCOUNT, email: 'bob@secret.test', format: 'csv' } })
    await analytics.closeAndFlush({ timeout: 15_000 })

    store = await openStore(`sqlite:${relay.db}`)
    await waitFor('every event to be delivered or skipped', async () => {
      const counts = await store.counts()
      return counts.delivered + counts.skipped + counts.dead >= total ? counts : undefined
    })
  })

  afterAll(async () => {
    await store?.close()
    const exit = await relay?.stop()
    await sandbox?.close()
    removeTempDirs()
    expect(exit?.code).toBe(0)
  })

  const bodiesFor = (userId: string) =>
    sandbox.requests().filter((r) => JSON.stringify(r.body).includes(`"${userId}"`)).map((r) => r.body as Record<string, unknown>)

  it('counts every held-back event as skipped, none dead', async () => {
    const counts = await store.counts()
    const skips = INTEGRATION_CASES.filter((c) => c.skip).length + 1 // + u-internal
    expect(counts).toMatchObject({ skipped: skips, delivered: total - skips, dead: 0, pending: 0 })
  })

  it.each(INTEGRATION_CASES)('integrations $integrations ($userId): delivered or skipped as documented', async (c) => {
    const skipped = await store.list({ status: 'skipped', limit: 1000 })
    const mine = skipped.filter((e) => e.event.userId === c.userId)
    if (c.skip) {
      expect(mine.map((e) => e.lastError)).toEqual([c.skip])
      expect(bodiesFor(c.userId)).toEqual([])
    } else {
      expect(mine).toEqual([])
      const bodies = bodiesFor(c.userId)
      expect(bodies).toHaveLength(1)
      expect(bodies[0]).toMatchObject({ user_id: c.userId, account_id: ACCOUNT })
    }
  })

  it('lists skips with the reason, findable by reason', async () => {
    const byFlag = await store.list({ status: 'skipped', reason: 'integrations.CustomerSuccessBox is false' })
    expect(byFlag.map((e) => e.event.userId).sort()).toEqual(['u-all-true-csb-false', 'u-csb-false'])
    const byFilter = await store.list({ status: 'skipped', reason: 'filter "no internal" (#2) dropped the event' })
    expect(byFilter.map((e) => e.event.userId)).toEqual(['u-internal'])
    expect(bodiesFor('u-internal')).toEqual([])
  })

  it('a block filter keeps email and phone out of every request CSB receives', () => {
    const pii = bodiesFor('u-pii')
    expect(pii).toHaveLength(1)
    expect(pii[0]).toMatchObject({ user_id: 'u-pii', account_id: ACCOUNT, name: 'Ann' })
    expect(pii[0]).not.toHaveProperty('email')
    expect(pii[0]).not.toHaveProperty('phone')
    const feature = bodiesFor('u-feature')
    expect(feature).toHaveLength(1)
    expect(feature[0]).toMatchObject({ feature_id: 'Report Exported', account_id: ACCOUNT })
    expect(JSON.stringify(sandbox.requests())).not.toContain(SECRET)
    expect(JSON.stringify(sandbox.requests())).not.toContain('+1 555 0100')
  })

  it('keeps the stored event as received (filters change only what is sent)', async () => {
    const delivered = await store.list({ status: 'delivered', limit: 1000 })
    const pii = delivered.find((e) => e.event.userId === 'u-pii')
    expect((pii?.event.traits as Record<string, unknown>).email).toBe('ann@secret.test')
  })
})

describe('a broken filter rule stops csb-relay start', () => {
  afterAll(removeTempDirs)
  /** `csb-relay start` with only the config file speaking, run to its end. */
  const runStart = (configFile: string) => runToExit(['start', '--config', configFile, '--port', '0'], { cwd: path.dirname(configFile) })

  it('exits 2 naming the rule and the fix', async () => {
    assertBuilt()
    const dir = tempDir('csb-routing-bad-')
    const file = writeConfig(dir, {
      db: `${dir}/relay.db`,
      sources: [{ name: 's', writeKey: WRITE_KEY }],
      csb: { apiKey: 'k', baseUrl: 'http://127.0.0.1:9' },
      filters: [{ drop: 'type = "screen"' }, { name: 'no internal', drop: 'properties.internal == true' }]
    })
    const result = await runStart(file)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(
      'filter #2 "no internal" (filters[1]): "drop" is not valid FQL (properties.internal == true): "==" is not an FQL operator. Fix: compare with a single =.'
    )
    expect(result.stdout).not.toContain('listening on')
    // Refused before anything opened: no store was created.
    expect(fs.existsSync(`${dir}/relay.db`)).toBe(false)
  })

  it('exits 2 for a bad path and for an empty list', async () => {
    const dir = tempDir('csb-routing-bad-path-')
    const base = { db: `${dir}/relay.db`, sources: [{ name: 's', writeKey: WRITE_KEY }] }
    const badPath = await runStart(writeConfig(dir, { ...base, filters: [{ name: 'no PII', block: ['traits.email', 'email'] }] }))
    expect(badPath.code).toBe(2)
    expect(badPath.stderr).toContain(
      'filter #1 "no PII" (filters[0]): "block"[1] "email" is outside properties, traits and context. Fix: start the path with properties., traits. or context., e.g. "traits.email".'
    )
    const empty = await runStart(writeConfig(dir, { ...base, filters: [{ allow: [] }] }))
    expect(empty.code).toBe(2)
    expect(empty.stderr).toContain('filter #1 (filters[0]): "allow" is an empty list.')
  })
})
