/**
 * The two scripts the image and the systemd way ship in deploy/: the container health check
 * and the online SQLite backup, run as an operator runs them (node, against a live relay).
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Relay } from '../../src/cli/relay'
import { post, startTestRelay } from '../helpers/relay'
import { removeTempDirs, tempDir } from '../helpers/temp'
import { freePort, waitFor } from '../helpers/wait'

const ROOT = path.resolve(__dirname, '../..')

function runScript(script: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'deploy', script), ...args], { env: { PATH: process.env.PATH, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

let relay: Relay
let dbFile: string

beforeAll(async () => {
  dbFile = path.join(tempDir(), 'relay.db')
  // No CSB settings: the relay holds every event, so the store keeps growing under the backup.
  relay = await startTestRelay({ db: dbFile })
})

afterAll(async () => {
  await relay?.close()
  removeTempDirs()
})

describe('deploy/healthcheck.js', () => {
  it('exits 0 when the relay answers /healthz on HOST:PORT', async () => {
    const port = new URL(relay.url).port
    const result = await runScript('healthcheck.js', [], { HOST: '0.0.0.0', PORT: port })
    expect(result).toMatchObject({ code: 0, stderr: '' })
  })

  it('exits 1 and says why when nothing answers', async () => {
    const port = String(await freePort())
    const result = await runScript('healthcheck.js', [], { HOST: '127.0.0.1', PORT: port })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`http://127.0.0.1:${port}/healthz did not answer`)
  })
})

describe('deploy/backup-sqlite.js', () => {
  it('copies a live store while the relay keeps accepting events: every event acknowledged before is in the copy', async () => {
    const before = Array.from({ length: 300 }, (_, i) => `before-${i}`)
    for (let i = 0; i < before.length; i += 100) {
      const batch = before.slice(i, i + 100).map((messageId) => ({ type: 'track', userId: 'u1', event: 'E', messageId }))
      expect((await post(relay, '/v1/batch', { batch })).status).toBe(200)
    }
    await waitFor(async () => (await relay.store.counts()).pending >= before.length, { what: 'the events in the queue' })

    // Writes keep landing while the backup runs.
    let writing = true
    let sent = 0
    const writer = (async () => {
      while (writing) {
        const batch = Array.from({ length: 50 }, () => ({ type: 'track', userId: 'u2', event: 'During', messageId: `during-${sent++}` }))
        await post(relay, '/v1/batch', { batch })
      }
    })()
    const target = path.join(tempDir(), 'backup.db')
    const result = await runScript('backup-sqlite.js', [dbFile, target])
    writing = false
    await writer

    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/quick_check ok/)
    expect(fs.existsSync(`${target}.partial`)).toBe(false)
    expect(fs.existsSync(`${target}-wal`)).toBe(false)
    const copy = new Database(target, { readonly: true })
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok')
      const found = copy.prepare(`SELECT count(*) AS n FROM events WHERE message_id LIKE 'before-%'`).get() as { n: number }
      expect(found.n).toBe(before.length)
    } finally {
      copy.close()
    }
    expect(sent).toBeGreaterThan(0)
  })

  it('never overwrites a file, and names the database it needs', async () => {
    const existing = path.join(tempDir(), 'existing.db')
    fs.writeFileSync(existing, 'keep me')
    const overwrite = await runScript('backup-sqlite.js', [dbFile, existing])
    expect(overwrite.code).toBe(2)
    expect(overwrite.stderr).toContain('exists already')
    expect(fs.readFileSync(existing, 'utf8')).toBe('keep me')

    const missing = await runScript('backup-sqlite.js', [path.join(tempDir(), 'nope.db'), path.join(tempDir(), 'b.db')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("give the relay's database file (CSB_RELAY_DB)")
  })
})
