/**
 * A suppressed user's events admitted to SQLite's inbox (batches too large to be queued inside
 * their commit, or admitted while rows wait) are answered and counted, other users' events are
 * queued in order, and nothing of the suppressed user's is written: a unique marker from their
 * events is in no file of the store's folder, during the run and after it.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { filesContaining } from '../../../test/privacy/regulations-helpers'
import { resolveOptions } from '../options'
import { serialiseEvents } from '../serialised'
import type { NewEvent, QueuedSummary, StoredEvent } from '../types'
import { mayNameUsers } from './inbox-suppression'
import { SqliteStore } from '.'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-store-inbox-suppression-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const MARK_U = `marker-u-${randomBytes(8).toString('hex')}`
const MARK_V = `marker-v-${randomBytes(8).toString('hex')}`

let serial = 0
/** An event as a client sends it: the suppressed user's carry MARK_U, the others MARK_V. */
const sent = (userId: string | number) => ({
  type: 'track', messageId: `m-${++serial}`, userId, event: 'Clicked',
  properties: { note: userId === 'u' || userId === 42 ? MARK_U : MARK_V, padding: 'x'.repeat(300) }
})
type Sent = ReturnType<typeof sent>

/** The test's expander: the body is a JSON array of events as sent (what ingest's expander reads too). */
const expand = (_head: string, body: Uint8Array): NewEvent[] =>
  (JSON.parse(Buffer.from(body).toString('utf8')) as Sent[]).map((e) => {
    const event = { ...e, userId: String(e.userId) } as NewEvent['event']
    return { source: 'web', messageId: e.messageId, orderingKey: `key-${String(e.userId)}`, type: e.type, receivedAt: new Date(), event }
  })
const opaque = (events: unknown[], text = JSON.stringify(events, null, 1)) => ({ opaque: true as const, n: events.length, head: 'h', body: Buffer.from(text) })
const asNewEvents = (events: Sent[]) => expand('h', Buffer.from(JSON.stringify(events)))

/** `count` events, every third the suppressed user's. */
const mixed = (count: number, suppressed: string | number = 'u') => Array.from({ length: count }, (_, i) => sent(i % 3 === 0 ? suppressed : `v${i % 2}`))

async function openIn(name: string) {
  const folder = fs.mkdtempSync(path.join(dir, `${name}-`))
  const store = new SqliteStore(path.join(folder, 'relay.db'), { ...resolveOptions(), expander: { path: 'test', expand } })
  const summaries: QueuedSummary[] = []
  store.onQueued((s) => summaries.push(s))
  const internals = store as unknown as { inbox: { close(): void }; checkpoints: { run(): void } }
  return { folder, store, summaries, internals }
}

async function allEvents(store: SqliteStore): Promise<StoredEvent[]> {
  const rows: StoredEvent[] = []
  for (let page = await store.list({ limit: 1000 }); page.length > 0; page = await store.list({ limit: 1000, beforeId: page.at(-1)!.id })) rows.push(...page)
  return rows.reverse()
}

const suppressedIn = (summaries: QueuedSummary[]) => summaries.flat().reduce((n, s) => n + (s.suppressed ?? 0), 0)

describe('SQLite admit: a suppressed user\'s events never reach the inbox', () => {
  it('a large opaque batch: the others\' events queued in order, the user\'s counted, the marker in no file', async () => {
    const { folder, store, summaries, internals } = await openIn('opaque')
    await store.suppress(['u'], 'suppressed')
    const batch = mixed(600)
    await store.admit(opaque(batch))
    internals.checkpoints.run()
    expect(filesContaining(folder, MARK_U)).toEqual([])
    expect(filesContaining(folder, MARK_V).length).toBeGreaterThan(0)
    expect(await store.suppressedEvents()).toBe(200)
    expect(suppressedIn(summaries)).toBe(200)

    const queued = await allEvents(store)
    expect(queued.map((e) => e.messageId)).toEqual(batch.filter((e) => e.userId !== 'u').map((e) => e.messageId))
    await store.close()
    expect(filesContaining(folder, MARK_U)).toEqual([])
  })

  it('batches admitted while the inbox holds rows (opaque and serialised) keep their order behind them', async () => {
    const { folder, store, summaries, internals } = await openIn('waiting')
    await store.suppress(['u', '42'], 'suppressed')
    // The background move stopped: what is admitted waits in the inbox until a read moves it.
    internals.inbox.close()
    const first = Array.from({ length: 250 }, (_, i) => sent(`v${i % 2}`))
    await store.admit(opaque(first))
    const second = mixed(30)
    await store.admit(opaque(second))
    const third = mixed(300, 42)
    await store.admit(serialiseEvents(asNewEvents(third)))
    const fourth = mixed(90)
    await store.admit(serialiseEvents(asNewEvents(fourth)))
    internals.checkpoints.run()
    expect(await store.counts()).toMatchObject({ admitted: 250 + 20 + 200 + 60 })
    expect(filesContaining(folder, MARK_U)).toEqual([])
    expect(filesContaining(folder, MARK_V).length).toBeGreaterThan(0)
    expect(await store.suppressedEvents()).toBe(10 + 100 + 30)

    const queued = await allEvents(store)
    const others = [...first, ...second, ...third, ...fourth].filter((e) => e.userId !== 'u' && e.userId !== 42)
    expect(queued.map((e) => e.messageId)).toEqual(others.map((e) => e.messageId))
    expect(queued.every((e) => e.status === 'pending')).toBe(true)
    expect(suppressedIn(summaries)).toBe(140)
    await store.close()
    expect(filesContaining(folder, MARK_U)).toEqual([])
  })

  it('a batch that names no suppressed user is stored as it came; a userId written with escapes is read as JSON reads it', async () => {
    const { folder, store, internals } = await openIn('as-came')
    await store.suppress(['u'], 'suppressed')
    internals.inbox.close()
    await store.admit(opaque(Array.from({ length: 250 }, () => sent('v1'))))
    const escaped = mixed(300)
    // "userId" written \u-escaped, and spaced as JSON allows.
    await store.admit(opaque(escaped, JSON.stringify(escaped).replace(/"userId":/g, () => '"user\\u0049d" :')))
    const raw = new Database(path.join(folder, 'relay.db'), { readonly: true })
    expect(raw.prepare('SELECT kind, n FROM inbox ORDER BY id').all()).toEqual([{ kind: 'opaque', n: 250 }, { kind: 'events', n: 200 }])
    raw.close()
    internals.checkpoints.run()
    expect(filesContaining(folder, MARK_U)).toEqual([])
    expect((await allEvents(store)).map((e) => e.messageId).slice(250)).toEqual(escaped.filter((e) => e.userId !== 'u').map((e) => e.messageId))
    await store.close()
  })

  it('with the list empty, a batch is stored as it came even when it names users', async () => {
    const { folder, store, internals } = await openIn('empty-list')
    internals.inbox.close()
    await store.admit(opaque(mixed(300)))
    const raw = new Database(path.join(folder, 'relay.db'), { readonly: true })
    expect(raw.prepare('SELECT kind, n FROM inbox').all()).toEqual([{ kind: 'opaque', n: 300 }])
    raw.close()
    expect(await store.suppressedEvents()).toBe(0)
    await store.close()
  })
})

describe('mayNameUsers', () => {
  const users = new Set(['u', '42', 'é ü'])
  it.each([
    ['{"userId":"u"}', true],
    ['{ "userId" :\n "u" }', true],
    ['{"userId":42}', true],
    ['{"userId":4.2e1}', true],
    ['{"userId":"\\u00e9 \\u00fc"}', true],
    ['{"us\\u0065rId":"x"}', true],
    ['{"userId":"v","traits":{"userId":"u"}}', true],
    ['{"userId":"v"}', false],
    ['{"userId":"uu","note":"u"}', false],
    ['{"note":"\\"userId\\":\\"u\\""}', false],
    ['{"name":"Jos\\u00e9","userId":null}', false],
    ['{"anonymousId":"u"}', false]
  ])('%s: %s', (text, expected) => {
    expect(mayNameUsers(text, users)).toBe(expected)
  })
  it('reads UTF-8 bytes given one character per byte (an opaque body)', () => {
    const latin1 = (text: string) => Buffer.from(text).toString('latin1')
    expect(mayNameUsers(latin1('{"name":"José","userId":"é ü"}'), users, true)).toBe(true)
    expect(mayNameUsers(latin1('{"name":"José","userId":"é"}'), users, true)).toBe(false)
  })
})

describe('a row that names a suppressed user but cannot be expanded', () => {
  it('is kept as it came and becomes a dead letter when moved, as without the list (nothing lost)', async () => {
    const folder = fs.mkdtempSync(path.join(dir, 'unexpandable-'))
    const failing = () => {
      throw new Error('cannot read this batch')
    }
    const store = new SqliteStore(path.join(folder, 'relay.db'), { ...resolveOptions(), expander: { path: 'test', expand: failing } })
    await store.suppress(['u'], 'suppressed')
    await store.admit(opaque(mixed(300)))
    const dead = await store.list({ status: 'dead' })
    expect(dead.map((e) => e.lastError)).toEqual([expect.stringContaining('cannot read this batch')])
    expect(await store.suppressedEvents()).toBe(0)
    await store.close()
  })
})
