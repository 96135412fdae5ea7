/**
 * A store written by the release before fan-out opens, migrates, and delivers its pending events
 * as CustomerSuccessBox's, in order. The stores come from fixtures/previous-release.ts run with
 * that release's build: a SQLite file, and for PostgreSQL a dump of the schema it wrote.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from './index'
import type { Store } from './types'
import { PREVIOUS_T0 } from '../../test/helpers/store/fixtures/previous-release'
import { removeTempDirs, tempDir } from '../../test/helpers/temp'

const FIXTURES = path.join(__dirname, '../../test/helpers/store/fixtures')
const CSB = 'CustomerSuccessBox'
const MINUTE = 60_000
/** An hour after the fixture was written: its leases have run out and its retry is due. */
const NOW = PREVIOUS_T0 + 60 * MINUTE

/** Opens the upgraded store with a second destination added, checks what it holds, and delivers it. */
async function checkUpgraded(open: (options: { now: () => number; destinations: string[] }) => Promise<Store>): Promise<void> {
  let now = NOW
  const store = await open({ now: () => now, destinations: [CSB, 'hooks'] })
  try {
    const counts = await store.counts()
    const csb = { pending: 3, retrying: 3, inFlight: 0, delivered: 1, dead: 1, skipped: 1, oldestPendingAt: new Date(PREVIOUS_T0) }
    expect(counts.byDestination).toEqual({
      [CSB]: csb,
      hooks: { pending: 0, retrying: 0, inFlight: 0, delivered: 0, dead: 0, skipped: 0, oldestPendingAt: null }
    })
    expect(counts).toMatchObject({ admitted: 0, ...csb })

    const rows = await store.list({ limit: 100 })
    expect(rows.map((e) => [e.messageId, e.destination, e.status])).toEqual([
      ['dave-1', CSB, 'pending'], ['carol-2', CSB, 'pending'], ['carol-1', CSB, 'skipped'], ['bob-2', CSB, 'pending'],
      ['bob-1', CSB, 'pending'], ['alice-4', CSB, 'pending'], ['alice-3', CSB, 'pending'], ['alice-2', CSB, 'dead'],
      ['alice-1', CSB, 'delivered']
    ])
    expect(await store.list({ destination: 'hooks' })).toEqual([])
    expect(await store.reasons({ destination: CSB })).toEqual([
      { destination: CSB, reason: 'HTTP 400: email invalid', status: 'dead', count: 1, lastAt: new Date(PREVIOUS_T0) },
      { destination: CSB, reason: 'HTTP 503', status: 'retrying', count: 1, lastAt: new Date(PREVIOUS_T0) },
      { destination: CSB, reason: 'integrations.CustomerSuccessBox is false', status: 'skipped', count: 1, lastAt: new Date(PREVIOUS_T0) }
    ])
    const minute = new Date(PREVIOUS_T0)
    expect(await store.stats({ from: minute, to: new Date(PREVIOUS_T0 + MINUTE), bucketSeconds: 60, destination: CSB })).toEqual([
      { at: minute, outcome: 'dead', count: 1 },
      { at: minute, outcome: 'delivered', count: 1 },
      { at: minute, outcome: 'ingested', count: 9 },
      { at: minute, outcome: 'retrying', count: 1 },
      { at: minute, outcome: 'skipped', count: 1 }
    ])
    expect(await store.stats({ from: minute, to: new Date(PREVIOUS_T0 + MINUTE), bucketSeconds: 60, destination: 'hooks' })).toEqual([])
    expect((await store.accountsFor(['alice'])).get('alice')).toBe('acme')
    expect(await store.getMeta('writeKey')).toBe('previous-release-key')
    expect(await store.listNames('feature')).toEqual(['Upgraded'])

    // Dedupe entries written before still hold (the window counts from the fixture's clock).
    const again = { source: 'web', messageId: 'alice-1', orderingKey: 'alice', type: 'track', event: { type: 'track', messageId: 'alice-1' }, receivedAt: new Date(NOW) }
    expect((await store.enqueue([again]))[0]).toMatchObject({ id: rows[8].id, duplicate: true })

    // The destination added at the upgrade has nothing of what was queued before it.
    expect(await store.lease({ limit: 10, leaseMs: 30_000, owner: 'new', destination: 'hooks' })).toEqual([])
    // CustomerSuccessBox's pending events deliver, in order per key.
    const order = new Map<string, string[]>()
    for (let round = 0; round < 10; round++) {
      const leased = await store.lease({ limit: 10, leaseMs: 30_000, owner: 'new', destination: CSB })
      if (leased.length === 0) break
      for (const e of leased) {
        expect(e.destination).toBe(CSB)
        order.set(e.orderingKey, [...(order.get(e.orderingKey) ?? []), e.messageId])
      }
      await store.complete(leased.map((e) => ({ id: e.id, leaseId: e.leaseId })))
    }
    expect(Object.fromEntries(order)).toEqual({ alice: ['alice-3', 'alice-4'], bob: ['bob-1', 'bob-2'], carol: ['carol-2'], dave: ['dave-1'] })
    expect(await store.counts()).toMatchObject({ pending: 0, retrying: 0, inFlight: 0, delivered: 7, dead: 1, skipped: 1 })

    // The dead letter replays at its destination and delivers.
    expect(await store.replay({ all: true, destination: 'hooks' })).toBe(0)
    expect(await store.replay({ all: true, destination: CSB })).toBe(1)
    const [replayed] = await store.lease({ limit: 10, leaseMs: 10 * MINUTE, owner: 'new', destination: CSB })
    expect(replayed).toMatchObject({ messageId: 'alice-2', destination: CSB, attempts: 1 })

    // An event queued after the upgrade goes to both destinations, behind nothing of the old ones at 'hooks'.
    now += MINUTE
    const fresh = { ...again, messageId: 'after-upgrade', event: { type: 'track', messageId: 'after-upgrade' } }
    await store.enqueue([fresh])
    expect((await store.lease({ limit: 10, leaseMs: 30_000, owner: 'new', destination: 'hooks' })).map((e) => e.messageId)).toEqual(['after-upgrade'])
    // At CustomerSuccessBox it waits behind alice-2, still leased.
    expect(await store.lease({ limit: 10, leaseMs: 30_000, owner: 'new', destination: CSB })).toEqual([])
  } finally {
    await store.close()
  }
}

describe('upgrade from the release before fan-out: SQLite', () => {
  const dir = tempDir('csb-store-upgrade-')
  afterAll(removeTempDirs)

  it('the fixture is a schema 3 file', () => {
    const db = new Database(path.join(FIXTURES, 'previous-release.db'), { readonly: true, fileMustExist: true })
    expect(db.pragma('user_version', { simple: true })).toBe(3)
    expect((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(9)
    db.close()
  })

  it('opens, migrates to the latest schema (6), and its pending events lease as CustomerSuccessBox\'s, in order', async () => {
    const file = path.join(dir, 'upgraded.db')
    fs.copyFileSync(path.join(FIXTURES, 'previous-release.db'), file)
    await checkUpgraded((options) => openStore(file, options))
    const db = new Database(file, { readonly: true })
    expect(db.pragma('user_version', { simple: true })).toBe(6)
    db.close()
  })
})

describe('upgrade from the release before fan-out: PostgreSQL', () => {
  const base = process.env.CSB_RELAY_TEST_PG
  const schema = `csb_upgrade_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`

  afterAll(async () => {
    if (!base) return
    const client = new pg.Client({ connectionString: base })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  })

  it('opens a schema the previous release wrote, migrates it, and its pending events lease as CustomerSuccessBox\'s, in order', async () => {
    if (!base) throw new Error('CSB_RELAY_TEST_PG is not set: run `npm test` (it starts a throwaway PostgreSQL) or set it to a postgres:// URL')
    // The dump creates the schema, its tables as the previous release's migrations made them, and its rows.
    const dump = fs.readFileSync(path.join(FIXTURES, 'previous-release-pg.sql'), 'utf8').replaceAll('csb_previous_release', schema)
    const client = new pg.Client({ connectionString: base })
    await client.connect()
    try {
      await client.query(dump)
      const before = await client.query(`SELECT version FROM "${schema}".migrations ORDER BY version`)
      expect(before.rows.map((r) => r.version)).toEqual([1, 2])
      await checkUpgraded((options) => openStore(`${base}${base.includes('?') ? '&' : '?'}schema=${schema}`, { ...options, poolSize: 2 }))
      const after = await client.query(`SELECT version FROM "${schema}".migrations ORDER BY version`)
      expect(after.rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5])
    } finally {
      await client.end()
    }
  })
})
