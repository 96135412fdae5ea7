/**
 * Regulations with two relay instances (the built CLI, separate processes) on one PostgreSQL
 * database, delivering to one sandbox: a suppression made through one instance holds on the
 * other; a deletion made through one purges what the other stored, checked by SQL over every
 * table, while CSB is down; once it is back, every other user's events are delivered and none
 * of the user's. Needs CSB_RELAY_TEST_PG (scripts/test.sh sets it); build first.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { startInstance, type Instance } from '../helpers/cluster'
import { accepted, fastDeliveryConfig } from '../helpers/delivery'
import { createTestDatabase, requireTestPg, type TestDatabase } from '../helpers/pg'
import { assertBuilt } from '../helpers/processes'
import { removeTempDirs } from '../helpers/temp'
import { waitFor } from '../helpers/wait'
import { metricValue, regulate, send, settled } from './regulations-helpers'

const WRITE_KEY = 'wk-regulations-pg'
const ACCOUNT = 'acc-pg'
const config = { delivery: fastDeliveryConfig }

let db: TestDatabase | undefined
let sandbox: Sandbox | undefined
const instances: Instance[] = []

beforeEach(async () => {
  requireTestPg()
  assertBuilt()
  db = await createTestDatabase()
  sandbox = await startSandbox({ port: 0 })
})

afterEach(async () => {
  await Promise.all(instances.splice(0).map((i) => i.stop('SIGKILL')))
  await sandbox?.close()
  sandbox = undefined
  await db?.drop()
  db = undefined
})

afterAll(() => removeTempDirs())

/** Two instances on the test database, the second started once the first has migrated it. */
async function twoInstances(): Promise<[Instance, Instance]> {
  const a = await startInstance({ db: db!.url, sandbox: sandbox!, writeKey: WRITE_KEY, config })
  instances.push(a)
  const b = await startInstance({ db: db!.url, sandbox: sandbox!, writeKey: WRITE_KEY, config })
  instances.push(b)
  return [a, b]
}

const feature = (userId: string, name: string, properties: Record<string, unknown> = {}) => ({
  type: 'track', userId, event: name, messageId: `pg-${userId}-${name}`, properties: { account_id: ACCOUNT, ...properties }
})
const deliveredTo = (userId: string) =>
  accepted(sandbox!, '/api/v1_1/feature').filter((r) => (r.body as { user_id: string }).user_id === userId).map((r) => (r.body as { feature_id: string }).feature_id)

/** Rows of every table of the test database's public schema whose text, or bytes, hold `marker`: table → rows. */
async function rowsHolding(marker: string): Promise<Record<string, number>> {
  const tables = await db!.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
  )
  expect(tables.length).toBeGreaterThan(3)
  const found: Record<string, number> = {}
  for (const { name } of tables) {
    const [row] = await db!.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${name}" AS t WHERE t::text LIKE '%' || $1 || '%' OR t::text LIKE '%' || encode(convert_to($1, 'UTF8'), 'hex') || '%'`,
      [marker]
    )
    if (row!.n > 0) found[name] = row!.n
  }
  return found
}

describe('regulations on two instances sharing PostgreSQL', () => {
  it('a suppression made through one instance holds on the other; UNSUPPRESS through the other lifts it on both', async () => {
    const [a, b] = await twoInstances()
    expect(await settled(a.url, await regulate(a.url, 'SUPPRESS_ONLY', ['u-pg-quiet']))).toMatchObject({ status: 'FINISHED', counts: { suppressed: 1 } })

    for (const name of ['One', 'Two']) {
      expect(await send(b.url, WRITE_KEY, 'track', feature('u-pg-quiet', name))).toBe(200)
      expect(await send(b.url, WRITE_KEY, 'track', feature('u-pg-loud', name))).toBe(200)
    }
    expect(await send(b.url, WRITE_KEY, 'batch', { batch: [feature('u-pg-quiet', 'Three'), feature('u-pg-loud', 'Three')] })).toBe(200)
    await waitFor('u-pg-loud\'s events delivered', () => deliveredTo('u-pg-loud').length === 3)
    expect(deliveredTo('u-pg-quiet')).toEqual([])
    // The store counts what it dropped: both instances report the same total.
    for (const instance of [a, b]) {
      const metrics = await (await fetch(`${instance.url}/metrics`)).text()
      expect(metricValue(metrics, 'csb_relay_suppressed_events_total'), instance.url).toBe(3)
    }

    expect(await settled(b.url, await regulate(b.url, 'UNSUPPRESS', ['u-pg-quiet']))).toMatchObject({ status: 'FINISHED', counts: { unsuppressed: 1 } })
    expect(await send(a.url, WRITE_KEY, 'track', feature('u-pg-quiet', 'Back'))).toBe(200)
    await waitFor('u-pg-quiet\'s new event delivered', () => deliveredTo('u-pg-quiet').length > 0)
    expect(deliveredTo('u-pg-quiet')).toEqual(['Back'])
  })

  it('a deletion made through one instance leaves no row of the user, with CSB down and their events pending (some in a large batch)', async () => {
    const marker = `marker-${randomBytes(8).toString('hex')}`
    sandbox!.setFaults({ outage: { seconds: 3600, status: 503 } })
    const [a, b] = await twoInstances()
    const others = 30
    expect(await send(a.url, WRITE_KEY, 'identify', { type: 'identify', userId: 'u-pg-erased', traits: { account_id: ACCOUNT, email: `${marker}@example.com` } })).toBe(200)
    const batch: unknown[] = []
    for (let i = 0; i < 4; i++) {
      for (let u = 0; u < others; u++) batch.push(feature(`u-pg-other-${u}`, `F${i}`, { note: 'x'.repeat(60) }))
      batch.push(feature('u-pg-erased', `F${i}`, { marker }))
    }
    expect(JSON.stringify({ batch }).length).toBeGreaterThan(16 * 1024)
    expect(await send(b.url, WRITE_KEY, 'batch', { batch })).toBe(200)
    await waitFor('attempts refused by the outage', () => sandbox!.requests().filter((r) => r.status === 503).length >= 10)
    const before = await rowsHolding(marker)
    expect(Object.keys(before).length).toBeGreaterThan(0)

    const done = await settled(b.url, await regulate(b.url, 'DELETE_ONLY', ['u-pg-erased']))
    expect(done).toMatchObject({ status: 'FINISHED', error: null })
    expect(done.counts.events).toBe(5)
    expect(await rowsHolding(marker)).toEqual({})

    const seen = sandbox!.requests().length
    sandbox!.setFaults({ outage: null })
    await waitFor('every other user\'s events delivered', () => accepted(sandbox!, '/api/v1_1/feature').length >= others * 4, { timeoutMs: 60_000 })
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(accepted(sandbox!, '/api/v1_1/feature')).toHaveLength(others * 4)
    const mentions = (r: { body: unknown }) => JSON.stringify(r.body).includes('u-pg-erased') || JSON.stringify(r.body).includes(marker)
    expect(sandbox!.requests().slice(seen).filter(mentions)).toEqual([])
    expect(deliveredTo('u-pg-erased')).toEqual([])
  })
})
