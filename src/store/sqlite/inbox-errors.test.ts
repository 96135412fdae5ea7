import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../index'
import { resolveOptions } from '../options'
import { SqliteStore } from '.'
import type { StoreLogger } from '../types'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-store-inbox-errors-'))
let n = 0
const file = () => path.join(dir, `e-${++n}.db`)
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

interface Line {
  level: 'warn' | 'error'
  obj: Record<string, unknown>
  msg?: string
}

function recordingLogger(): StoreLogger & { lines: Line[] } {
  const lines: Line[] = []
  return {
    lines,
    warn: (obj, msg) => void lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    error: (obj, msg) => void lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg })
  }
}

async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}

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
    const logger = recordingLogger()
    const store = new SqliteStore(db, resolveOptions({ logger }))
    // Another connection makes every insert into the queue fail, as a failing database would.
    const raw = new Database(db)
    raw.exec("CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    try {
      expect(store.inboxErrors).toBe(0)
      // More than a small admit: it goes through the inbox and the background move.
      await store.admit(events(1_000, 'f'))
      await until(() => store.inboxErrors > 0)
      expect(logger.lines[0]).toMatchObject({ level: 'error', obj: { err: expect.stringContaining('disk on fire') }, msg: expect.stringMatching(/moving admitted events into the queue failed/) })
      expect(await store.counts()).toMatchObject({ admitted: 1_000, pending: 0 })
      raw.exec('DROP TRIGGER refuse')
      await until(async () => (await store.counts()).admitted === 0)
      expect(await store.counts()).toMatchObject({ admitted: 0, pending: 1_000 })
    } finally {
      raw.close()
      await store.close()
    }
  })

  it('a row that cannot be queued is logged and counted as well as kept as a dead letter', async () => {
    const logger = recordingLogger()
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
    const logger = recordingLogger()
    const store = await openStore(await databaseWithBadInboxRow(), { logger })
    try {
      expect(await store.list({ status: 'dead' })).toHaveLength(1)
      await until(() => logger.lines.length > 0)
      expect(logger.lines).toEqual([{ level: 'error', obj: { inboxRow: 1, reason: expect.stringMatching(/inbox row 1 could not be queued/) }, msg: expect.any(String) }])
      expect(store.inboxErrors).toBe(1)
    } finally {
      await store.close()
    }
  })
})
