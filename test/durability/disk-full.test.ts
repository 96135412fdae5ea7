/**
 * The disk under the store fills up: the built relay keeps running, answers ingest 503 with
 * Retry-After (the sender keeps the events and retries), and once space returns it accepts
 * again and delivers every event it ever answered 200 for; nothing acknowledged is lost.
 *
 * The store lives on a small tmpfs mounted for this test, filled with a file until ENOSPC.
 * Mounting needs root, as CI has: as another user this file fails and says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { postEvents } from '../helpers/http'
import { startRelayProcess, type RelayProcess } from '../helpers/processes'
import { removeTempDirs, tempDir } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

const WRITE_KEY = 'wk_durability_disk_full'
const TMPFS_SIZE = '8m'
/** Each event carries this much padding, so that a few requests fill what space is left. */
const PAD = 'x'.repeat(1500)
const EVENTS_PER_REQUEST = 5

let mountPoint: string | undefined
let sandbox: Sandbox | undefined
let relay: RelayProcess | undefined

beforeAll(() => {
  if (process.getuid?.() !== 0) {
    throw new Error('test/durability/disk-full.test.ts mounts a tmpfs for the store, which needs root: run it as root, as CI does')
  }
})

afterAll(async () => {
  await relay?.stop()
  await sandbox?.close()
  if (mountPoint) execFileSync('umount', ['--lazy', mountPoint])
  removeTempDirs()
})

interface Sent {
  ids: string[]
  body: string
}

/** Identify events whose userId is their messageId: CSB's user_id tells which arrived. */
function request(name: string): Sent {
  const ids = Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => `${name}-${i}`)
  const batch = ids.map((id) => ({ type: 'identify', messageId: id, userId: id, traits: { account_id: 'acme', pad: PAD } }))
  return { ids, body: JSON.stringify({ batch }) }
}

const send = (sent: Sent) => postEvents(relay!.url, '/v1/batch', WRITE_KEY, sent.body)

/** Writes zeros to `file` until the file system says ENOSPC. */
function fill(file: string): number {
  const fd = fs.openSync(file, 'w')
  const chunk = Buffer.alloc(64 * 1024)
  let written = 0
  try {
    for (;;) written += fs.writeSync(fd, chunk)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  } finally {
    fs.closeSync(fd)
  }
  return written
}

describe('disk full under the store', () => {
  it('answers 503 with Retry-After, stays up, recovers when space returns, and loses no acknowledged event', async () => {
    mountPoint = tempDir('csb-relay-disk-full-')
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', mountPoint])
    sandbox = await startSandbox({ port: 0 })
    relay = await startRelayProcess({
      db: path.join(mountPoint, 'relay.db'),
      config: { delivery: { backoffBaseMs: 50, backoffCapMs: 500, pollIntervalMs: 10, leaseMs: 2_000 } },
      args: ['--host', '127.0.0.1'],
      env: { CSB_RELAY_WRITE_KEYS: WRITE_KEY, CSB_API_KEY: sandbox.apiKey, CSB_BASE_URL: sandbox.url }
    })
    const acknowledged: string[] = []
    const healthy = async () => (await fetch(`${relay!.url}/healthz`)).status

    // Room on the disk: accepted.
    for (let n = 0; n < 5; n++) {
      const sent = request(`before-${n}`)
      expect((await send(sent)).status).toBe(200)
      acknowledged.push(...sent.ids)
    }

    // The disk fills: what still fits in the store's files is accepted; then 503 with Retry-After.
    expect(fill(path.join(mountPoint, 'filler'))).toBeGreaterThan(0)
    const refused: Sent[] = []
    for (let n = 0; n < 60 && refused.length < 5; n++) {
      const sent = request(`full-${n}`)
      const answer = await send(sent)
      if (answer.status === 200) {
        acknowledged.push(...sent.ids)
        continue
      }
      expect(answer.status).toBe(503)
      expect(Number(answer.retryAfter), 'Retry-After').toBeGreaterThan(0)
      refused.push(sent)
    }
    expect(refused.length, 'requests refused while the disk was full').toBe(5)
    expect(await healthy()).toBe(200)
    expect(relay.child.exitCode).toBeNull()

    // Space returns: the refused requests, retried as a sender would, and new ones are accepted.
    fs.rmSync(path.join(mountPoint, 'filler'))
    for (const sent of refused) {
      await waitFor('a refused request to be accepted once space returned', async () => (await send(sent)).status === 200, { timeoutMs: 20_000, intervalMs: 250 })
      acknowledged.push(...sent.ids)
    }
    for (let n = 0; n < 3; n++) {
      const sent = request(`after-${n}`)
      expect((await send(sent)).status).toBe(200)
      acknowledged.push(...sent.ids)
    }
    expect(await healthy()).toBe(200)

    // Every acknowledged event is in the store and reaches CSB.
    const delivered = () => new Set(sandbox!.requests({ path: '/api/v1_1/user' }).map((r) => (r.body as { user_id?: string }).user_id))
    await waitFor(`every acknowledged event delivered; missing: ${acknowledged.filter((id) => !delivered().has(id)).slice(0, 10).join(', ')}`, () => acknowledged.every((id) => delivered().has(id)), { timeoutMs: 60_000, intervalMs: 250 })
    // Deliveries whose outcome could not be written while the disk was full stay leased until
    // the lease ends, then go again (at least once): the store settles them all as delivered.
    const notSettled = async () => {
      const stored = (await fetch(`${relay!.url}/api/events?limit=500`).then((r) => r.json())) as { events: Array<{ messageId: string; status: string }> }
      const status = new Map(stored.events.map((e) => [e.messageId, e.status]))
      return acknowledged.filter((id) => status.get(id) !== 'delivered').map((id) => `${id}: ${status.get(id) ?? 'not stored'}`)
    }
    await waitFor('every acknowledged event delivered in the store', async () => (await notSettled()).length === 0, { timeoutMs: 30_000, intervalMs: 250 }).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${(await notSettled()).slice(0, 10).join('; ')}`)
    })
    expect(relay.child.exitCode).toBeNull()
  })
})
