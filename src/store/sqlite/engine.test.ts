import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { openStore, parseStoreUrl } from '../index'
import { resolveOptions } from '../options'
import { SqliteStore } from '.'
import { storeConformance } from '../../../test/helpers/store/conformance'
import { removeTempDirs, tempDir } from '../../../test/helpers/temp'
import { waitFor } from '../../../test/helpers/wait'

/** The store's shared test helpers: the crash children and the previous release's fixture. */
const STORE_HELPERS = path.join(__dirname, '../../../test/helpers/store')

const dir = tempDir('csb-store-sqlite-')
let n = 0
afterAll(removeTempDirs)

storeConformance({ engine: 'sqlite', freshUrl: async () => path.join(dir, `store-${++n}.db`) })

/**
 * Runs a child writer (a file next to this one) on `file`, collects the lines it prints (one
 * per acknowledged write) and SIGKILLs it once it has printed `count`; returns the lines.
 */
async function ackedBeforeKill(writer: string, file: string, count: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(STORE_HELPERS, writer), file], { stdio: ['ignore', 'pipe', 'inherit'] })
  const acked: string[] = []
  let buffer = ''
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop()!
      acked.push(...lines.filter(Boolean))
      if (acked.length >= count && !child.killed) {
        child.kill('SIGKILL')
        resolve()
      }
    })
    child.on('exit', () => resolve())
  })
  await new Promise((r) => child.once('exit', r).exitCode !== null && r(null))
  return acked
}

describe('SQLite engine', () => {
  it('accepts a path, sqlite:PATH, :memory: and sqlite::memory:', async () => {
    for (const url of [path.join(dir, 'plain.db'), `sqlite:${path.join(dir, 'prefixed.db')}`, ':memory:', 'sqlite::memory:']) {
      const store = await openStore(url)
      const [r] = await store.enqueue([{ source: 's', messageId: 'm', orderingKey: 'k', type: 'track', event: { type: 'track', messageId: 'm' }, receivedAt: new Date() }])
      expect((await store.get(r.id))!.messageId).toBe('m')
      await store.close()
    }
    expect(fs.existsSync(path.join(dir, 'plain.db'))).toBe(true)
    expect(fs.existsSync(path.join(dir, 'prefixed.db'))).toBe(true)
  })

  it('parses store URLs', () => {
    expect(parseStoreUrl('./data/relay.db')).toEqual({ engine: 'sqlite', path: './data/relay.db' })
    expect(parseStoreUrl('sqlite:/var/lib/relay.db')).toEqual({ engine: 'sqlite', path: '/var/lib/relay.db' })
    expect(parseStoreUrl('sqlite:///var/lib/relay.db')).toEqual({ engine: 'sqlite', path: '/var/lib/relay.db' })
    expect(parseStoreUrl('sqlite::memory:')).toEqual({ engine: 'sqlite', path: ':memory:' })
    expect(parseStoreUrl('postgres://u:p@db:5432/relay?schema=r1')).toEqual({ engine: 'postgres', url: 'postgres://u:p@db:5432/relay', schema: 'r1' })
    expect(parseStoreUrl('postgresql://db/relay')).toEqual({ engine: 'postgres', url: 'postgresql://db/relay', schema: undefined })
  })

  it('creates the parent directory of the database file', async () => {
    const file = path.join(dir, 'nested', 'deeper', 'relay.db')
    const store = await openStore(file)
    await store.close()
    expect(fs.existsSync(file)).toBe(true)
  })

  it('uses WAL, and syncs the WAL itself: every durable write settles after an fdatasync that followed its commit', async () => {
    const file = path.join(dir, 'pragmas.db')
    const store = await openStore(file)
    const db = new Database(file)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    await store.close()
    db.close()
    // The engine itself (not whatever openStore wraps it in), to read its connection's setting
    // and to watch its syncs.
    const syncs: number[] = []
    const original = fs.fdatasync
    const spy = vi.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, done: (e: NodeJS.ErrnoException | null) => void) => {
      syncs.push(fd)
      original(fd, done)
    }) as never)
    try {
      const probe = new SqliteStore(file, resolveOptions())
      const conn = (probe as unknown as { ctx: { db: Database.Database } }).ctx.db
      expect(conn.pragma('synchronous', { simple: true })).toBe(1)
      const before = syncs.length
      await probe.enqueue([{ source: 's', messageId: 'synced', orderingKey: 'k', type: 'track', event: { type: 'track', messageId: 'synced' }, receivedAt: new Date() }])
      expect(syncs.length).toBeGreaterThan(before)
      await probe.admit([{ source: 's', messageId: 'synced-2', orderingKey: 'k', type: 'track', event: { type: 'track', messageId: 'synced-2' }, receivedAt: new Date() }])
      expect(syncs.length).toBeGreaterThan(before + 1)
      await probe.close()
    } finally {
      spy.mockRestore()
    }
  })

  it('reopening an existing database keeps its events (migrations are idempotent)', async () => {
    const file = path.join(dir, 'reopen.db')
    const one = await openStore(file)
    const [r] = await one.enqueue([{ source: 's', messageId: 'keep', orderingKey: 'k', type: 'track', event: { type: 'track', messageId: 'keep' }, receivedAt: new Date() }])
    await one.close()
    const two = await openStore(file)
    expect((await two.get(r.id))!.messageId).toBe('keep')
    await two.close()
  })

  it('a database from before the names table (schema 2) gets it on open, its events kept', async () => {
    // A schema 3 file written by an earlier release (upgrade.test.ts), taken back to schema 2.
    const file = path.join(dir, 'before-names.db')
    fs.copyFileSync(path.join(STORE_HELPERS, 'fixtures', 'previous-release.db'), file)
    const raw = new Database(file)
    raw.exec('DROP TABLE csb_names')
    raw.pragma('user_version = 2')
    raw.close()
    const two = await openStore(file)
    expect((await two.get('1'))!).toMatchObject({ messageId: 'alice-1', destination: 'CustomerSuccessBox', status: 'delivered' })
    expect(await two.admitNames('feature', ['Signed Up'], 256)).toEqual({ refused: [], count: 1 })
    await two.close()
    const check = new Database(file, { readonly: true })
    expect(check.pragma('user_version', { simple: true })).toBe(6)
    check.close()
  })

  it('a dead letter of a suppressed user that suppress did not close (an earlier version\'s store) is not replayed', async () => {
    const file = path.join(dir, 'suppressed-dead.db')
    const one = await openStore(file)
    const event = (userId: string) => ({ source: 's', messageId: `m-${userId}`, orderingKey: userId, type: 'track', event: { type: 'track', messageId: `m-${userId}`, userId }, receivedAt: new Date() })
    const [u, v] = await one.enqueue([event('u'), event('v')])
    await one.deadLetter([u, v].map((r) => ({ id: r.id, reason: 'HTTP 400' })))
    await one.close()
    // On the list, its dead letter left as it was.
    const raw = new Database(file)
    raw.prepare('INSERT INTO suppressed_users (user_id, since) VALUES (?, ?)').run('u', Date.now())
    raw.close()
    const two = await openStore(file)
    expect(await two.replay({ all: true })).toBe(1)
    expect(await two.replay({ ids: [u.id] })).toBe(0)
    expect((await two.get(u.id))!.status).toBe('dead')
    expect((await two.get(v.id))!.status).toBe('pending')
    await two.close()
  })

  it('rejects an empty URL with a message', async () => {
    await expect(openStore('')).rejects.toThrow(/empty/)
    await expect(openStore('sqlite:')).rejects.toThrow(/no path/)
  })

  it('every enqueue acknowledged before a SIGKILL is in the store after restart', async () => {
    const file = path.join(dir, 'crash.db')
    const acked = await ackedBeforeKill('crash-writer.ts', file, 300)
    expect(acked.length).toBeGreaterThanOrEqual(300)
    const store = await openStore(file)
    for (const line of acked) {
      const [id, messageId] = line.split(' ')
      expect((await store.get(id))?.messageId).toBe(messageId)
    }
    await store.close()
  })

  it('every admit acknowledged before a SIGKILL is in the store after restart, inbox included', async () => {
    const file = path.join(dir, 'crash-admit.db')
    const acked = (await ackedBeforeKill('crash-admitter.ts', file, 40)).map(Number)
    expect(acked.length).toBeGreaterThanOrEqual(40)
    const raw = new Database(file)
    const waiting = raw.prepare('SELECT count(*) AS n FROM inbox').get() as { n: number }
    raw.close()
    // Admitted but not yet moved at the kill: the inbox path was taken and must survive.
    expect(waiting.n).toBeGreaterThan(0)

    const store = await openStore(file)
    await store.list({ limit: 1 })
    await store.close()
    const check = new Database(file)
    const count = check.prepare("SELECT count(*) AS n FROM events WHERE message_id LIKE ? || '-%'")
    for (const batch of acked) expect((count.get(`ca-${batch}`) as { n: number }).n).toBe(600)
    expect((check.prepare('SELECT count(*) AS n FROM inbox').get() as { n: number }).n).toBe(0)
    // Each messageId once: the move is exactly once even across the crash.
    const dupes = check.prepare('SELECT count(*) AS n FROM (SELECT message_id FROM events GROUP BY message_id HAVING count(*) > 1)').get() as { n: number }
    expect(dupes.n).toBe(0)
    check.close()
  }, 60_000)

  it('a burst waits in the inbox and is counted as admitted; reads move it first, in order', async () => {
    const store = new SqliteStore(path.join(dir, 'burst.db'), resolveOptions())
    const events = Array.from({ length: 3000 }, (_, i) => ({
      source: 's', messageId: `b-${i}`, orderingKey: `k${i % 3}`, type: 'track', event: { type: 'track', messageId: `b-${i}` }, receivedAt: new Date()
    }))
    await Promise.all([store.admit(events.slice(0, 1000)), store.admit(events.slice(1000, 2000)), store.admit(events.slice(2000))])
    // Right after the commit, before the background move had a turn.
    expect((await store.counts()).admitted).toBe(3000)
    const listed = await store.list({ limit: 1000 })
    expect(listed[0].messageId).toBe('b-2999')
    expect(await store.counts()).toMatchObject({ admitted: 0, pending: 3000 })
    await store.close()
  })

  it('checkpoints the WAL once the background move has emptied the inbox, not at the next burst', async () => {
    const store = new SqliteStore(path.join(dir, 'checkpoint.db'), resolveOptions())
    const internals = store as unknown as { ctx: { db: Database.Database }; checkpoints: { lastAt: number } }
    const db = internals.ctx.db
    const pragma = db.pragma.bind(db)
    const checkpoints: string[] = []
    db.pragma = ((source: string, options?: Database.PragmaOptions) => {
      if (source.startsWith('wal_checkpoint')) checkpoints.push(source)
      return pragma(source, options)
    }) as typeof db.pragma
    // A checkpoint just ran: the time-based one is not due for another second.
    internals.checkpoints.lastAt = performance.now()
    const events = Array.from({ length: 3000 }, (_, i) => ({
      source: 's', messageId: `c-${i}`, orderingKey: `k${i % 7}`, type: 'track', event: { type: 'track', messageId: `c-${i}` }, receivedAt: new Date()
    }))
    await store.admit(events)
    expect((await store.counts()).admitted).toBe(3000)
    await waitFor('the inbox moved into the queue', async () => (await store.counts()).admitted === 0, { timeoutMs: 2_000, intervalMs: 5 })
    expect(await store.counts()).toMatchObject({ admitted: 0, pending: 3000 })
    expect(checkpoints).toEqual(['wal_checkpoint(PASSIVE)'])
    await store.close()
  })

  it('an inbox row that cannot be expanded becomes a dead letter with its reason and text; the rows after it are queued', async () => {
    const file = path.join(dir, 'corrupt.db')
    const first = new SqliteStore(file, resolveOptions())
    await first.close()
    const raw = new Database(file)
    const insert = raw.prepare('INSERT INTO inbox (admitted_at, kind, n, meta, events) VALUES (?, ?, ?, ?, ?)')
    insert.run(Date.now(), 'events', 2, '[["s","c-1","k","track",1]]', '{"type":"track"}')
    insert.run(Date.now(), 'opaque', 1, 'head', Buffer.from('no expander for this'))
    insert.run(Date.now(), 'events', 1, '[["s","c-ok","k","track",1]]', '{"type":"track","messageId":"c-ok"}')
    raw.close()
    const store = new SqliteStore(file, resolveOptions())
    const dead = await store.list({ status: 'dead' })
    expect(dead.map((e) => e.lastError)).toEqual([
      expect.stringMatching(/inbox row 2 could not be queued: .*expander/),
      expect.stringMatching(/inbox row 1 could not be queued: serialised events hold 1 ids and 1 events where n is 2/)
    ])
    expect(dead[1].event).toMatchObject({ inboxRow: 1, meta: '[["s","c-1","k","track",1]]', events: '{"type":"track"}' })
    expect((await store.list({ status: 'pending' })).map((e) => e.messageId)).toEqual(['c-ok'])
    expect(await store.counts()).toMatchObject({ admitted: 0, pending: 1, dead: 2 })
    await store.close()
  })

  it('an opaque inbox row in the earlier text form (header, newline, body) is still queued', async () => {
    const file = path.join(dir, 'old-opaque.db')
    const expand = (head: string, body: Uint8Array) => {
      const { source, key } = JSON.parse(head) as { source: string; key: string }
      const event = JSON.parse(Buffer.from(body).toString('utf8')) as { type: string; messageId: string }
      return [{ source, messageId: event.messageId, orderingKey: key, type: event.type, event: event as never, receivedAt: new Date() }]
    }
    const first = new SqliteStore(file, resolveOptions())
    await first.close()
    const raw = new Database(file)
    raw.prepare('INSERT INTO inbox (admitted_at, kind, n, meta, events) VALUES (?, ?, ?, ?, ?)')
      .run(Date.now(), 'opaque', 1, '', '{"source":"s","key":"k"}\n{"type":"track","messageId":"old-1","event":"E"}')
    raw.close()
    const store = new SqliteStore(file, { ...resolveOptions(), expander: { path: 'test', expand } })
    expect((await store.list({ status: 'pending' })).map((e) => e.messageId)).toEqual(['old-1'])
    expect(await store.counts()).toMatchObject({ admitted: 0, pending: 1, dead: 0 })
    await store.close()
  })
})
