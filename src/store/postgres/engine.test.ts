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
      expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4])
      for (const store of [...stores, again]) await store.close()
    })

    it('rejects a schema name that is not a plain identifier', async () => {
      await expect(openStore(`${base}${base!.includes('?') ? '&' : '?'}schema=bad;drop`)).rejects.toThrow(/plain identifier/)
    })

    it('reports an unreachable server as an error, not a crash', async () => {
      await expect(openStore('postgres://nobody@127.0.0.1:1/none', { poolSize: 1 })).rejects.toThrow()
    })
  })
}
