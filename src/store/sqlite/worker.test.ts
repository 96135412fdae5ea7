import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../index'
import { SqliteStore } from '.'
import { WorkerSqliteStore } from './proxy'
import { removeTempDirs, tempDir } from '../../../test/helpers/temp'

const dir = tempDir('csb-store-worker-')
let n = 0
const file = () => path.join(dir, `w-${++n}.db`)
afterAll(removeTempDirs)

const event = (messageId: string, orderingKey = 'k') => ({
  source: 's', messageId, orderingKey, type: 'track', event: { type: 'track', messageId, at: new Date(0) }, receivedAt: new Date(1_000)
})

describe('SQLite engine in a worker thread', () => {
  it('is what openStore gives for a file; sqliteInProcess and :memory: stay on the calling thread', async () => {
    const hosted = await openStore(file())
    const inline = await openStore(file(), { sqliteInProcess: true })
    const memory = await openStore(':memory:')
    expect(hosted).toBeInstanceOf(WorkerSqliteStore)
    expect(inline).toBeInstanceOf(SqliteStore)
    expect(memory).toBeInstanceOf(SqliteStore)
    await Promise.all([hosted.close(), inline.close(), memory.close()])
  })

  it('round-trips events through structured clone (Dates stay Dates, Maps stay Maps)', async () => {
    const store = await openStore(file())
    const [r] = await store.enqueue([event('m1', 'user-1')])
    const stored = (await store.get(r.id))!
    expect(stored.receivedAt).toBeInstanceOf(Date)
    expect(stored.receivedAt.getTime()).toBe(1_000)
    expect(stored.event).toMatchObject({ messageId: 'm1', at: new Date(0).toISOString() })
    await store.linkIdentities([{ userKey: 'user-1', accountId: 'acc-1' }])
    const accounts = await store.accountsFor(['user-1', 'nobody'])
    expect(accounts).toBeInstanceOf(Map)
    expect([...accounts]).toEqual([['user-1', 'acc-1']])
    const [leased] = await store.lease({ limit: 5, leaseMs: 1000, owner: 't', excludeKeys: new Set(['other']) })
    expect(leased.id).toBe(r.id)
    expect(leased.leasedUntil).toBeInstanceOf(Date)
    await store.close()
  })

  it('group-commits concurrent enqueues and counts their transactions', async () => {
    const store = await openStore(file())
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.enqueue([event(`g${i}`, `k${i % 3}`)])))
    expect(results.map(([r]) => r.duplicate)).toEqual(Array(50).fill(false))
    const ids = results.map(([r]) => Number(r.id))
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(store.enqueueTransactions).toBeGreaterThanOrEqual(1)
    expect(store.enqueueTransactions).toBeLessThan(50)
    const [dup] = await store.enqueue([event('g7')])
    expect(dup).toEqual({ id: results[7][0].id, duplicate: true })
    await store.close()
  })

  it('re-creates errors from the worker with their class and message', async () => {
    const store = await openStore(file())
    await expect(store.lease({ limit: Number.NaN, leaseMs: 1000, owner: 't' })).rejects.toThrow(RangeError)
    await expect(store.lease({ limit: Number.NaN, leaseMs: 1000, owner: 't' })).rejects.toThrow(/finite/)
    // The store keeps working after a failed call.
    const [r] = await store.enqueue([event('after-error')])
    expect(r.duplicate).toBe(false)
    await store.close()
  })

  it('finishes calls made before close, then refuses new ones', async () => {
    const store = await openStore(file())
    const before = store.enqueue([event('before-close')])
    const closed = store.close()
    await expect(before).resolves.toHaveLength(1)
    await closed
    await expect(store.counts()).rejects.toThrow('store is closed')
    await expect(store.enqueue([event('after-close')])).rejects.toThrow('store is closed')
    await store.close()
    const reopened = await openStore(path.join(dir, `w-${n}.db`))
    expect((await reopened.counts()).pending).toBe(1)
    await reopened.close()
  })

  it('rejects from openStore when the database cannot be opened', async () => {
    const blocker = path.join(dir, 'not-a-dir')
    fs.writeFileSync(blocker, 'x')
    await expect(openStore(path.join(blocker, 'relay.db'))).rejects.toThrow()
  })

  it('uses the caller\'s injected clock', async () => {
    let now = Date.UTC(2026, 0, 1)
    const store = await openStore(file(), { now: () => now, dedupeWindowMs: 60_000 })
    const [first] = await store.enqueue([event('clocked')])
    now += 30_000
    expect((await store.enqueue([event('clocked')]))[0].duplicate).toBe(true)
    now += 60_000
    const [again] = await store.enqueue([event('clocked')])
    expect(again.duplicate).toBe(false)
    expect(again.id).not.toBe(first.id)
    await store.close()
  })
})
