import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WalSync } from './wal-sync'

afterEach(() => vi.restoreAllMocks())

function walFile(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wal-sync-')), 'db-wal')
  fs.writeFileSync(file, 'frames')
  return file
}

describe('WalSync', () => {
  it('settles a commit only with a sync that started after it; two run at once, and one sync serves every commit before it', async () => {
    const calls: Array<(error: NodeJS.ErrnoException | null) => void> = []
    vi.spyOn(fs, 'fdatasync').mockImplementation(((_fd: number, done: (error: NodeJS.ErrnoException | null) => void) => calls.push(done)) as never)
    const sync = new WalSync(walFile())
    const settled: string[] = []
    const a = sync.afterCommit().then(() => settled.push('a'))
    // b commits while a's sync runs, which may have started before b's frames were written: b gets its own.
    const b = sync.afterCommit().then(() => settled.push('b'))
    expect(calls).toHaveLength(2)
    // Two are running: c and d wait for the next, together.
    const c = sync.afterCommit().then(() => settled.push('c'))
    const d = sync.afterCommit().then(() => settled.push('d'))
    expect(calls).toHaveLength(2)
    calls[1]!(null)
    await b
    expect(settled).toEqual(['b'])
    expect(calls).toHaveLength(3)
    calls[0]!(null)
    await a
    calls[2]!(null)
    await Promise.all([c, d])
    expect(settled).toEqual(['b', 'a', 'c', 'd'])
    const closed = sync.close()
    await closed
  })

  it('fails the commits a failed sync was for, and keeps working after', async () => {
    const calls: Array<(error: NodeJS.ErrnoException | null) => void> = []
    vi.spyOn(fs, 'fdatasync').mockImplementation(((_fd: number, done: (error: NodeJS.ErrnoException | null) => void) => calls.push(done)) as never)
    const sync = new WalSync(walFile())
    const failed = sync.afterCommit()
    calls[0]!(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }))
    await expect(failed).rejects.toThrow(/EIO/)
    const next = sync.afterCommit()
    calls[1]!(null)
    await expect(next).resolves.toBeUndefined()
    await sync.close()
  })

  it('close waits for the syncs asked for', async () => {
    const calls: Array<(error: NodeJS.ErrnoException | null) => void> = []
    vi.spyOn(fs, 'fdatasync').mockImplementation(((_fd: number, done: (error: NodeJS.ErrnoException | null) => void) => calls.push(done)) as never)
    const sync = new WalSync(walFile())
    let committed = false
    void sync.afterCommit().then(() => (committed = true))
    let closed = false
    const closing = sync.close().then(() => (closed = true))
    await new Promise((r) => setImmediate(r))
    expect(closed).toBe(false)
    calls[0]!(null)
    await closing
    expect([committed, closed]).toEqual([true, true])
  })

  it('has nothing to sync for an in-memory database or before the WAL file exists', async () => {
    const spy = vi.spyOn(fs, 'fdatasync')
    await new WalSync(null).afterCommit()
    await new WalSync(path.join(os.tmpdir(), `missing-${process.pid}-wal`)).afterCommit()
    expect(spy).not.toHaveBeenCalled()
  })
})
