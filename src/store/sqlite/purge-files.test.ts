/**
 * A purge leaves no readable copy of the user's data in any file of the store's folder: the
 * database, its WAL and shared memory, journals. The user's events were delivered with samples,
 * dead, pending and rewritten by several attempts, and inside admitted batches not yet moved.
 * A prune zeroes the rows it deletes and empties the WAL, so next to nothing of them stays readable.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveOptions } from '../options'
import { serialiseEvents } from '../serialised'
import type { NewEvent, StoredEvent } from '../types'
import { SqliteStore } from '.'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-store-purge-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const MARK_U = `marker-u-${randomBytes(8).toString('hex')}`
const MARK_V = `marker-v-${randomBytes(8).toString('hex')}`
const markerOf = (user: string) => (user === 'u' ? MARK_U : MARK_V)

let serial = 0
function event(user: string): NewEvent {
  const messageId = `m-${++serial}`
  return {
    source: 'web', messageId, orderingKey: `key-${user}`, type: 'identify', receivedAt: new Date(),
    event: { type: 'identify', messageId, userId: user, traits: { note: markerOf(user), email: `${user}@example.com`, padding: 'x'.repeat(300) } }
  }
}

/** The test's expander: the body is a JSON array of user names, one event each. */
const expand = (_head: string, body: Uint8Array): NewEvent[] => (JSON.parse(Buffer.from(body).toString('utf8')) as string[]).map(event)

/** The folder's files (every one, whatever its name) holding `marker` as plain bytes. */
function filesHolding(folder: string, marker: string): string[] {
  return fs.readdirSync(folder).filter((name) => fs.readFileSync(path.join(folder, name)).includes(Buffer.from(marker)))
}

/** Events each with their own marker `pm-<n>-z` in their traits, for counting which of them a file still holds. */
function markedEvent(n: number, user: string): NewEvent {
  const e = event(user)
  return { ...e, event: { ...e.event, traits: { note: `pm-${String(n).padStart(6, '0')}-z`, email: `${user}@example.com`, padding: 'x'.repeat(300) } } }
}

/** The numbers of the marked events (markedEvent) that some file of the folder holds. */
function markedIn(folder: string): Set<number> {
  const found = new Set<number>()
  for (const name of fs.readdirSync(folder)) {
    for (const m of fs.readFileSync(path.join(folder, name)).toString('latin1').matchAll(/pm-(\d{6})-z/g)) found.add(Number(m[1]))
  }
  return found
}

/**
 * Two hours ago: 600 events delivered (1-600, past a one-hour retention), interleaved with 60
 * dead letters (601-660, kept a day); now: 100 delivered (661-760) and 10 waiting (761-770).
 * Each admitted through the inbox and moved as ingest does, retried three times, then settled.
 * Then one prune. With `secureDelete` false the store writes as versions before secure_delete was
 * on for every write did. Counts the pruned and the kept events whose marker a file holds.
 */
async function pruneScenario(secureDelete: boolean) {
  const folder = fs.mkdtempSync(path.join(dir, 'prune-'))
  const HOUR = 3_600_000
  let clock = Date.parse('2024-03-01T00:00:00Z')
  const store = new SqliteStore(path.join(folder, 'relay.db'), resolveOptions({ now: () => clock, retentionMs: HOUR, deadLetterRetentionMs: 24 * HOUR }))
  const internals = store as unknown as { checkpoints: { run(): void }; ctx: { db: Database.Database } }
  if (!secureDelete) internals.ctx.db.pragma('secure_delete = OFF')
  const settleAll = async (events: NewEvent[], outcome: 'complete' | 'deadLetter') => {
    await store.admit(serialiseEvents(events))
    await store.list({ limit: 1 })
    for (let attempt = 0; ; attempt++) {
      const leased = await store.lease({ limit: 100, leaseMs: 30_000, owner: 't' })
      if (leased.length === 0) break
      if (attempt < 3) {
        await store.retryLater(leased.map((e) => ({ id: e.id, leaseId: e.leaseId, runAt: new Date(0), error: `HTTP 503 ${attempt}`, samples: { request: { body: e.event } } })))
      } else if (outcome === 'complete') {
        await store.complete(leased.map((e) => ({ id: e.id, leaseId: e.leaseId, samples: { request: { body: e.event }, response: { status: 200 } } })))
      } else {
        await store.deadLetter(leased.map((e) => ({ id: e.id, leaseId: e.leaseId, reason: 'HTTP 400', samples: { request: { body: e.event } } })))
      }
    }
    internals.checkpoints.run()
  }
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i)
  const count = () => {
    const found = [...markedIn(folder)]
    return { pruned: found.filter((i) => i <= 600).length, kept: found.filter((i) => i > 600).length }
  }
  for (let round = 0; round < 20; round++) {
    await settleAll(range(1 + 30 * round, 30).map((i) => markedEvent(i, 'u')), 'complete')
    await settleAll(range(601 + 3 * round, 3).map((i) => markedEvent(i, 'w')), 'deadLetter')
  }
  clock += 2 * HOUR
  await settleAll(range(661, 100).map((i) => markedEvent(i, 'v')), 'complete')
  await store.enqueue(range(761, 10).map((i) => markedEvent(i, 'x')))
  internals.checkpoints.run()
  const before = count()
  const pruned = await store.prune()
  const after = count()
  const walBytes = fs.statSync(path.join(folder, 'relay.db-wal')).size
  expect(await store.counts()).toMatchObject({ pending: 10, delivered: 100, dead: 60 })
  await store.close()
  return { before, pruned, prunedAfter: after.pruned, keptAfter: after.kept, walBytes }
}

describe('SQLite purge, prune and the files of the store', () => {
  it('before the purge the user\'s marker is in the folder\'s files; after it, in none, and other users\' data stays', async () => {
    const folder = fs.mkdtempSync(path.join(dir, 'store-'))
    const store = new SqliteStore(path.join(folder, 'relay.db'), { ...resolveOptions(), expander: { path: 'test', expand } })
    const internals = store as unknown as { inbox: { close(): void }; checkpoints: { run(): void } }

    for (const user of ['u', 'v']) {
      await store.enqueue([event(user), event(user), event(user), event(user)])
      const take = async () => (await store.lease({ limit: 10, leaseMs: 30_000, owner: 't' })).find((e) => e.event.userId === user)!
      const delivered = await take()
      await store.complete([{ id: delivered.id, leaseId: delivered.leaseId, samples: { request: { body: delivered.event }, response: { status: 200 } } }])
      const dead = await take()
      await store.deadLetter([{ id: dead.id, leaseId: dead.leaseId, reason: 'HTTP 400', samples: { request: { body: dead.event } } }])
      // Attempts rewrite the row: each version lands in a new place in the pages and the WAL.
      for (let attempt = 0; attempt < 4; attempt++) {
        const retried = await take()
        await store.retryLater([{ id: retried.id, leaseId: retried.leaseId, runAt: new Date(0), error: `HTTP 503 ${attempt}`, samples: { request: { body: retried.event } } }])
      }
      // ... and one stays leased.
      await take()
      await store.linkIdentities([{ userKey: `key-${user}`, accountId: `account-${user}` }])
    }
    // Admitted and moved: the inbox rows it freed keep their bytes in free pages.
    await store.admit(serialiseEvents(Array.from({ length: 1500 }, (_, i) => event(i % 3 === 0 ? 'u' : 'v'))))
    expect(await store.counts()).toMatchObject({ admitted: 1500 })
    await store.list({ limit: 1 })
    // Admitted, not yet moved: the background move is stopped and nothing here reads events.
    internals.inbox.close()
    const users = Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 'u' : 'v'))
    await store.admit({ opaque: true, n: users.length, head: 'h', body: Buffer.from(JSON.stringify(users)) })
    // The expander numbers the opaque batch's events when it runs: here, after the serialised batch's.
    const serialised = users.map(event)
    await store.admit(serialiseEvents(serialised))
    const lastMessageIds = [
      ...users.map((user, i) => ({ user, id: `m-${serial + 1 + i}` })).filter((e) => e.user === 'v').map((e) => e.id),
      ...serialised.filter((e) => e.event.userId === 'v').map((e) => e.messageId)
    ]
    // What the running relay does after its commits.
    internals.checkpoints.run()

    expect(filesHolding(folder, MARK_U).length).toBeGreaterThan(0)
    expect(filesHolding(folder, MARK_V).length).toBeGreaterThan(0)
    expect(await store.counts()).toMatchObject({ admitted: 800 })

    // One of u's rows stays leased (no owner given to the purge: another's lease), so the result says when it runs out.
    expect(await store.purgeUsers(['u'])).toEqual({ events: 4 + 500, admittedEvents: 200, identityLinks: 1, leasedElsewhereUntil: expect.any(Number) })
    expect(filesHolding(folder, MARK_U)).toEqual([])
    expect(filesHolding(folder, MARK_V).length).toBeGreaterThan(0)
    expect(await store.accountsFor(['key-u', 'key-v'])).toEqual(new Map([['key-v', 'account-v']]))

    // The rest of the admitted batches is queued, in order, and nothing of u's.
    const rows: StoredEvent[] = []
    for (let page = await store.list({ limit: 1000 }); page.length > 0; page = await store.list({ limit: 1000, beforeId: page.at(-1)!.id })) rows.push(...page)
    expect(rows.filter((e) => e.event.userId === 'u')).toEqual([])
    const admitted = rows.filter((e) => e.status === 'pending').slice(0, 600).reverse()
    expect(admitted.map((e) => e.messageId)).toEqual(lastMessageIds)
    expect(await store.counts()).toMatchObject({ admitted: 0, pending: 1 + 1000 + 600, retrying: 0, inFlight: 1, delivered: 1, dead: 1 })
    await store.close()
    expect(filesHolding(folder, MARK_U)).toEqual([])
  }, 60_000)

  it('a prune zeroes what it deletes and empties the WAL: next to none of the pruned events stays readable; what it keeps stays', async () => {
    const asBefore = await pruneScenario(false)
    const now = await pruneScenario(true)
    for (const run of [asBefore, now]) {
      expect(run.before).toEqual({ pruned: 600, kept: 170 })
      expect(run.pruned).toBe(600)
      expect(run.keptAfter).toBe(170)
    }
    // Deleting without secure_delete (earlier versions) leaves most of them, the WAL emptied or not.
    expect(asBefore.prunedAfter).toBeGreaterThan(300)
    // secure_delete zeroes every row it deletes and the truncating checkpoint empties the WAL; what SQLite
    // copied when it moved rows between pages (a split) can stay in the unused part of a page.
    expect(now.prunedAfter).toBeLessThanOrEqual(6)
    expect(now.walBytes).toBe(0)
  }, 60_000)

  it('a purge that finds nothing left still erases what a store written without secure_delete (an earlier version) left in the files', async () => {
    const folder = fs.mkdtempSync(path.join(dir, 'pruned-'))
    const store = new SqliteStore(path.join(folder, 'relay.db'), resolveOptions())
    const internals = store as unknown as { checkpoints: { run(): void }; ctx: { db: Database.Database } }
    // What versions before secure_delete was on for every write did.
    internals.ctx.db.pragma('secure_delete = OFF')
    await store.enqueue([event('u'), event('v')])
    for (const row of await store.lease({ limit: 10, leaseMs: 30_000, owner: 't' })) {
      if (row.event.userId === 'u') await store.complete([{ id: row.id, leaseId: row.leaseId, samples: { request: { body: row.event } } }])
    }
    // Retention deletes u's delivered rows (secure_delete is off): their bytes stay in free space.
    expect(await store.prune(new Date(Date.now() + 30 * 24 * 3600_000))).toBe(1)
    internals.checkpoints.run()
    expect(filesHolding(folder, MARK_U).length).toBeGreaterThan(0)

    expect(await store.purgeUsers(['u'])).toEqual({ events: 0, admittedEvents: 0, identityLinks: 0 })
    expect(filesHolding(folder, MARK_U)).toEqual([])
    expect(filesHolding(folder, MARK_V).length).toBeGreaterThan(0)
    await store.close()
  })

  it('removes inbox rows that could not be read (kept as dead letters, or still waiting) when they name the user', async () => {
    const folder = fs.mkdtempSync(path.join(dir, 'unreadable-'))
    const file = path.join(folder, 'relay.db')
    await new SqliteStore(file, resolveOptions()).close()
    const raw = new Database(file)
    const insert = raw.prepare('INSERT INTO inbox (admitted_at, kind, n, meta, events) VALUES (?, ?, ?, ?, ?)')
    // n says 2 where the row holds 1: each becomes a dead letter holding the row's text when moved.
    for (const user of ['u', 'v']) insert.run(Date.now(), 'events', 2, `[["s","${user}-1","k","track",1]]`, `{"type":"track","userId":"${user}","note":"${markerOf(user)}"}`)
    raw.close()
    const store = new SqliteStore(file, resolveOptions())
    expect((await store.list({ status: 'dead' })).map((e) => e.event.events)).toEqual([expect.stringContaining(MARK_V), expect.stringContaining(MARK_U)])
    // A row another connection admits, which this store (no expander) cannot read; it waits, unmoved.
    const other = new Database(file)
    other.prepare('INSERT INTO inbox (admitted_at, kind, n, meta, events) VALUES (?, ?, ?, ?, ?)')
      .run(Date.now(), 'opaque', 3, 'head', Buffer.from(`[{"userId": "u", "note": "${MARK_U}"}, {"userId": "v"}, {"userId": "v"}]`))
    other.close()

    expect(await store.purgeUsers(['u'])).toEqual({ events: 1, admittedEvents: 3, identityLinks: 0 })
    expect((await store.list({ status: 'dead' })).map((e) => e.event.events)).toEqual([expect.stringContaining(MARK_V)])
    expect(filesHolding(folder, MARK_U)).toEqual([])
    expect(filesHolding(folder, MARK_V).length).toBeGreaterThan(0)
    await store.close()
  })
})
