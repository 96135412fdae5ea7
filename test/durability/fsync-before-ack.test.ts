/**
 * Every 200 the built relay gives an ingest request comes after the events are on disk: the
 * relay runs under `strace -f -y`, and the trace shows, before each response's write on its
 * socket, a WAL commit holding that request's events and an fsync/fdatasync of the WAL that
 * started after the commit's last write and returned 0 (strace.ts). A SIGKILL test cannot see a
 * missing sync (the page cache survives the process); a power loss would.
 *
 * Requests go one at a time, so the n-th response answers the n-th request; each carries a
 * marker of its own in every event. Single events, a small batch (queued in its commit), a
 * batch of 300 (kept as one inbox row, parsed on a parse thread), one after another.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { postEvents } from '../helpers/http'
import { BIN, assertBuilt, cleanEnv, watchProcess } from '../helpers/processes'
import { removeTempDirs, tempDir } from '../helpers/temp'
import { parseTrace, unsyncedAcknowledgements, walCommits } from './strace'

const WRITE_KEY = 'wk_durability_strace'
const SYSCALLS = 'write,pwrite64,writev,pwritev,pwritev2,fsync,fdatasync,sync_file_range'
const ROUNDS = 3

afterAll(() => removeTempDirs())

function requestsOf(round: number, marker: (kind: string) => string) {
  const track = (m: string, i = 0) => ({ type: 'track', userId: `u-${i}`, event: 'Durable', messageId: `${m}-${i}`, properties: { marker: m, account_id: 'acme' } })
  const single = marker(`track${round}`)
  const identify = marker(`identify${round}`)
  const small = marker(`batch5-${round}`)
  const large = marker(`batch300-${round}`)
  return [
    { marker: single, path: '/v1/track', body: track(single) },
    { marker: identify, path: '/v1/identify', body: { userId: 'u-1', messageId: identify, traits: { marker: identify, account_id: 'acme' } } },
    { marker: small, path: '/v1/batch', body: { batch: Array.from({ length: 5 }, (_, i) => track(small, i)) } },
    { marker: large, path: '/v1/batch', body: { batch: Array.from({ length: 300 }, (_, i) => track(large, i)) } }
  ]
}

describe('durability under strace', () => {
  it('answers 200 to an ingest request only after a sync of the WAL that follows the commit holding its events', async () => {
    assertBuilt()
    const strace = spawnSync('strace', ['-V'])
    if (strace.error) throw new Error(`strace is needed for this test and is not installed (${strace.error.message}): apt-get install strace (scripts/test.sh installs it)`)

    const dir = fs.realpathSync(tempDir())
    const db = path.join(dir, 'relay.db')
    const traceFile = path.join(dir, 'trace.txt')
    const child = spawn(
      'strace',
      ['-f', '-y', '-xx', '-s', '65536', '--seccomp-bpf', '-e', `trace=${SYSCALLS}`, '-o', traceFile, process.execPath, BIN, 'start', '--port', '0', '--host', '127.0.0.1', '--db', db],
      { env: cleanEnv({ CSB_RELAY_WRITE_KEYS: WRITE_KEY }), stdio: ['ignore', 'pipe', 'pipe'] }
    )
    const traced = watchProcess(child)
    // strace's child is the relay; stopping strace would only detach it.
    const relayPid = () => Number(fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0])

    const markers: string[] = []
    try {
      const url = (await traced.waitForOutput(/listening on (http:\/\/\S+)/, 60_000))[1]!
      const salt = randomBytes(4).toString('hex')
      for (let round = 0; round < ROUNDS; round++) {
        for (const request of requestsOf(round, (kind) => `mk-${kind}-${salt}`)) {
          const answer = await postEvents(url, request.path, WRITE_KEY, request.body)
          expect(answer.status, `${request.path}: ${answer.text}`).toBe(200)
          markers.push(request.marker)
        }
      }
    } finally {
      const pid = relayPid()
      if (pid) process.kill(pid, 'SIGTERM')
      await traced.exited
    }

    const calls = parseTrace(fs.readFileSync(traceFile, 'utf8'))
    const wal = `${db}-wal`
    expect(unsyncedAcknowledgements(calls, wal, markers)).toEqual([])
    // The trace saw the store: a commit to the WAL at least per request, and syncs of it.
    expect(walCommits(calls, wal).length).toBeGreaterThanOrEqual(markers.length)
    expect(calls.some((c) => (c.name === 'fdatasync' || c.name === 'fsync') && c.path === wal)).toBe(true)
  })
})
