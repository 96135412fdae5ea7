import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { removeTempDirs, tempDir } from '../../../test/helpers/temp'
import { MAX_IN_FLIGHT, WalSync } from './wal-sync'

afterEach(() => vi.restoreAllMocks())
afterAll(removeTempDirs)

function walFile(): string {
  const dir = tempDir('wal-sync-')
  const file = path.join(dir, 'db-wal')
  fs.writeFileSync(file, 'frames')
  return file
}

describe('WalSync', () => {
  it('settles a commit only with a sync that started after it; MAX_IN_FLIGHT run at once, and one sync serves every commit before it', async () => {
    const calls: Array<(error: NodeJS.ErrnoException | null) => void> = []
    vi.spyOn(fs, 'fdatasync').mockImplementation(((_fd: number, done: (error: NodeJS.ErrnoException | null) => void) => calls.push(done)) as never)
    const sync = new WalSync(walFile())
    const settled: number[] = []
    // Each commit made while syncs run (which may have started before its frames were written)
    // gets a sync of its own, up to MAX_IN_FLIGHT.
    const first = Array.from({ length: MAX_IN_FLIGHT }, (_, i) => sync.afterCommit().then(() => settled.push(i)))
    expect(calls).toHaveLength(MAX_IN_FLIGHT)
    // Then the next commits wait for the next sync, together.
    const later = [sync.afterCommit().then(() => settled.push(100)), sync.afterCommit().then(() => settled.push(101))]
    expect(calls).toHaveLength(MAX_IN_FLIGHT)
    calls[1]!(null)
    await first[1]
    expect(settled).toEqual([1])
    expect(calls).toHaveLength(MAX_IN_FLIGHT + 1)
    for (let i = 0; i < MAX_IN_FLIGHT; i++) if (i !== 1) calls[i]!(null)
    await Promise.all(first)
    expect(settled).not.toContain(100)
    calls[MAX_IN_FLIGHT]!(null)
    await Promise.all(later)
    expect(settled.slice(-2)).toEqual([100, 101])
    await sync.close()
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
