import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../index'
import { resolveOptions } from '../options'
import { SqliteStore } from '.'
import { silentLogger } from '../../../test/helpers/logger'
import { removeTempDirs, tempDir } from '../../../test/helpers/temp'
import { waitFor } from '../../../test/helpers/wait'

const dir = tempDir('csb-store-inbox-errors-')
let n = 0
const file = () => path.join(dir, `e-${++n}.db`)
afterAll(removeTempDirs)

/** The background move is quick; waiting longer than this means it stalled. */
const MOVE = { timeoutMs: 5_000, intervalMs: 10 }

const events = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => ({
    source: 's', messageId: `${prefix}-${i}`, orderingKey: `k${i % 3}`, type: 'track', event: { type: 'track', messageId: `${prefix}-${i}` }, receivedAt: new Date()
  }))

/** A database whose inbox holds one row that cannot be queued (two events announced, one stored). */
async function databaseWithBadInboxRow(): Promise<string> {
  const db = file()
  await new SqliteStore(db, resolveOptions()).close()
  const raw = new Database(db)
  raw.prepare('INSERT INTO inbox (admitted_at, kind, n, meta, events) VALUES (?, ?, ?, ?, ?)')
    .run(Date.now(), 'events', 2, '[["s","bad-1","k","track",1]]', '{"type":"track"}')
  raw.close()
  return db
}

describe('the inbox move logs and counts its errors', () => {
  it('a move that fails is logged and counted, the events stay in the inbox, and the next try queues them', async () => {
    const db = file()
    const logger = silentLogger()
    const store = new SqliteStore(db, resolveOptions({ logger }))
    // Another connection makes every insert into the queue fail, as a failing database would.
    const raw = new Database(db)
    raw.exec("CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    try {
      expect(store.inboxErrors).toBe(0)
      // More than a small admit: it goes through the inbox and the background move.
      await store.admit(events(1_000, 'f'))
      await waitFor('the failed move counted', () => store.inboxErrors > 0, MOVE)
      expect(logger.lines[0]).toMatchObject({ level: 'error', obj: { err: expect.stringContaining('disk on fire') }, msg: expect.stringMatching(/moving admitted events into the queue failed/) })
      expect(await store.counts()).toMatchObject({ admitted: 1_000, pending: 0 })
      raw.exec('DROP TRIGGER refuse')
      await waitFor('the inbox moved on the next try', async () => (await store.counts()).admitted === 0, MOVE)
      expect(await store.counts()).toMatchObject({ admitted: 0, pending: 1_000 })
    } finally {
      raw.close()
      await store.close()
    }
  })

  it('a row that cannot be queued is logged and counted as well as kept as a dead letter', async () => {
    const logger = silentLogger()
    const store = new SqliteStore(await databaseWithBadInboxRow(), resolveOptions({ logger }))
    const dead = await store.list({ status: 'dead' })
    expect(dead).toHaveLength(1)
    expect(store.inboxErrors).toBe(1)
    expect(logger.lines).toEqual([
      { level: 'error', obj: { inboxRow: 1, reason: dead[0]!.lastError }, msg: expect.stringMatching(/inbox row could not be queued/) }
    ])
    await store.close()
  })

  it('in a worker thread, the line reaches the logger given to openStore and the count the store on the calling thread', async () => {
    const logger = silentLogger()
    const store = await openStore(await databaseWithBadInboxRow(), { logger })
    try {
      expect(await store.list({ status: 'dead' })).toHaveLength(1)
      await waitFor('the line logged', () => logger.lines.length > 0, MOVE)
      expect(logger.lines).toEqual([{ level: 'error', obj: { inboxRow: 1, reason: expect.stringMatching(/inbox row 1 could not be queued/) }, msg: expect.any(String) }])
      expect(store.inboxErrors).toBe(1)
    } finally {
      await store.close()
    }
  })
})
