/**
 * Invariant 1: an event answered 2xx is committed. A generator sends single events and
 * batches at a relay process; the test SIGKILLs it mid-stream, restarts it on the same
 * database, and finds every acknowledged messageId in the store.
 */
import { afterAll, describe, expect, it } from 'vitest'
import path from 'node:path'
import { openStore } from '../../src/store'
import { startRelayProcess } from '../helpers/processes'
import { postStatus } from '../helpers/http'
import { TEST_WRITE_KEY } from '../helpers/relay'
import { allMessageIds } from '../helpers/message-ids'
import { removeTempDirs, tempDir } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

afterAll(removeTempDirs)

const env = { CSB_RELAY_WRITE_KEYS: TEST_WRITE_KEY }

describe('a relay killed with SIGKILL while a generator sends', () => {
  it('has every acknowledged messageId after restart', async () => {
    const db = path.join(tempDir(), 'relay.db')
    const relay = await startRelayProcess({ db, env })
    const acknowledged: string[] = []
    let sequence = 0
    let running = true
    let failures = 0

    const worker = async (w: number) => {
      while (running) {
        const batch = w % 2 === 0
        const ids = Array.from({ length: batch ? 10 : 1 }, () => `crash-${w}-${sequence++}`)
        const status = batch
          ? await postStatus(relay.url, '/v1/batch', TEST_WRITE_KEY, { batch: ids.map((messageId) => ({ type: 'track', userId: `u${w}`, event: 'E', messageId })) })
          : await postStatus(relay.url, '/v1/track', TEST_WRITE_KEY, { userId: `u${w}`, event: 'E', messageId: ids[0] })
        if (status >= 200 && status < 300) acknowledged.push(...ids)
        else if (status === 0) failures++
      }
    }
    const workers = Array.from({ length: 8 }, (_, w) => worker(w))
    await waitFor('2000 acknowledged events', () => acknowledged.length >= 2000, { timeoutMs: 60_000 })
    relay.child.kill('SIGKILL')
    const exit = await relay.exited
    running = false
    await Promise.all(workers)
    expect(exit.signal).toBe('SIGKILL')
    expect(failures).toBeGreaterThan(0) // requests were in flight when it died

    const restarted = await startRelayProcess({ db, env })
    const stopped = await restarted.stop()
    expect(stopped, restarted.stdout() + restarted.stderr()).toEqual({ code: 0, signal: null })

    const store = await openStore(db)
    try {
      const stored = await allMessageIds(store)
      const missing = acknowledged.filter((id) => !stored.has(id))
      expect(missing).toEqual([])
      expect(stored.size).toBeGreaterThanOrEqual(acknowledged.length)
    } finally {
      await store.close()
    }
  })
})
