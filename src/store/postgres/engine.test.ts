import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../index'
import { storeConformance } from '../../../test/helpers/store/conformance'

const base = process.env.CSB_RELAY_TEST_PG
const run = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
const schemas: string[] = []

function freshUrl(): Promise<string> {
  const schema = `csb_${run}_${schemas.length + 1}`
  schemas.push(schema)
  return Promise.resolve(`${base}${base!.includes('?') ? '&' : '?'}schema=${schema}`)
}

describe('PostgreSQL test server', () => {
  it('is given by CSB_RELAY_TEST_PG', () => {
    if (!base) {
      throw new Error(
        'CSB_RELAY_TEST_PG is not set: run `npm test` (it starts a throwaway PostgreSQL) or set CSB_RELAY_TEST_PG=postgres://user@127.0.0.1:PORT/db'
      )
    }
    expect(base).toMatch(/^postgres(ql)?:\/\//)
  })
})

if (base) {
  afterAll(async () => {
    const client = new pg.Client({ connectionString: base })
    await client.connect()
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  })

  storeConformance({ engine: 'postgres', freshUrl })

  describe('PostgreSQL engine', () => {
    it('instances starting at once migrate once, and a restart finds nothing to do', async () => {
      const url = await freshUrl()
      const stores = await Promise.all([1, 2, 3].map(() => openStore(url)))
      const again = await openStore(url)
      const client = new pg.Client({ connectionString: base })
      await client.connect()
      const { rows } = await client.query(`SELECT version FROM "${schemas[schemas.length - 1]}".migrations ORDER BY version`)
      await client.end()
      expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5])
      for (const store of [...stores, again]) await store.close()
    })

    it('a dead letter of a suppressed user that suppress did not close (one failed half-way) is not replayed', async () => {
      const url = await freshUrl()
      const store = await openStore(url)
      const event = (userId: string) => ({ source: 's', messageId: `m-${userId}`, orderingKey: userId, type: 'track', event: { type: 'track', messageId: `m-${userId}`, userId }, receivedAt: new Date() })
      const [u, v] = await store.enqueue([event('u'), event('v')])
      await store.deadLetter([u, v].map((r) => ({ id: r.id, reason: 'HTTP 400' })))
      // On the list, its dead letter left as it was.
      const client = new pg.Client({ connectionString: base })
      await client.connect()
      await client.query(`INSERT INTO "${schemas[schemas.length - 1]}".suppressed_users (user_id, since) VALUES ('u', 0)`)
      await client.end()
      expect(await store.replay({ all: true })).toBe(1)
      expect(await store.replay({ ids: [u.id] })).toBe(0)
      expect((await store.get(u.id))!.status).toBe('dead')
      expect((await store.get(v.id))!.status).toBe('pending')
      await store.close()
    })

    it('rejects a schema name that is not a plain identifier', async () => {
      await expect(openStore(`${base}${base!.includes('?') ? '&' : '?'}schema=bad;drop`)).rejects.toThrow(/plain identifier/)
    })

    it('reports an unreachable server as an error, not a crash', async () => {
      await expect(openStore('postgres://nobody@127.0.0.1:1/none', { poolSize: 1 })).rejects.toThrow()
    })

    it('after a purge no row of any table of the schema holds the user\'s marker; other users\' rows stay', async () => {
      const url = await freshUrl()
      const schema = schemas[schemas.length - 1]
      const store = await openStore(url, { destinations: ['CustomerSuccessBox', 'hooks'] })
      const marks = { u: `marker-u-${randomBytes(8).toString('hex')}`, v: `marker-v-${randomBytes(8).toString('hex')}` }
      let serial = 0
      const event = (user: 'u' | 'v') => {
        const messageId = `m-${++serial}`
        return { source: 'web', messageId, orderingKey: user, type: 'identify', receivedAt: new Date(), event: { type: 'identify', messageId, userId: user, traits: { note: marks[user] } } }
      }
      for (const user of ['u', 'v'] as const) {
        await store.enqueue([event(user), event(user), event(user)])
        for (const destination of ['CustomerSuccessBox', 'hooks']) {
          const take = async () => (await store.lease({ limit: 10, leaseMs: 30_000, owner: 't', destination })).find((e) => e.event.userId === user)!
          const delivered = await take()
          await store.complete([{ id: delivered.id, leaseId: delivered.leaseId, samples: { request: { body: delivered.event } } }])
          const dead = await take()
          await store.deadLetter([{ id: dead.id, leaseId: dead.leaseId, reason: 'HTTP 400', samples: { request: { body: dead.event } } }])
        }
        await store.linkIdentities([{ userKey: user, accountId: marks[user] }])
      }
      const client = new pg.Client({ connectionString: base })
      await client.connect()
      // Every table of the schema, each row as text (all its columns).
      const rowsHolding = async (marker: string): Promise<Record<string, number>> => {
        const { rows: tables } = await client.query<{ name: string }>(
          `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, [schema]
        )
        const found: Record<string, number> = {}
        for (const { name } of tables) {
          const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${name}" t WHERE strpos(t::text, $1) > 0`, [marker])
          if (Number(rows[0].n) > 0) found[name] = Number(rows[0].n)
        }
        return found
      }
      try {
        expect(await rowsHolding(marks.u)).toEqual({ events: 6, identities: 1 })
        // u's third event was leased (by 't') while v's were taken: a lease another owner held.
        expect(await store.purgeUsers(['u'])).toEqual({ events: 6, admittedEvents: 0, identityLinks: 1, leasedElsewhereUntil: expect.any(Number) })
        expect(await rowsHolding(marks.u)).toEqual({})
        expect(await rowsHolding(marks.v)).toEqual({ events: 6, identities: 1 })
      } finally {
        await client.end()
        await store.close()
      }
    })
  })
}
