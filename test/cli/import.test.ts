/**
 * `csb-relay import` as a user runs it (the built CLI, a child process) against a relay and
 * the CSB sandbox: 100,000 events, interrupted halfway with SIGKILL and resumed, all
 * delivered exactly once; a re-run sends nothing, and a forced re-run is deduplicated.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Relay } from '../../src/cli/relay'
import { readCheckpoint } from '../../src/cli/import/checkpoint'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { runCli } from '../helpers/processes'
import { startTestRelay, TEST_WRITE_KEY } from '../helpers/relay'
import { removeTempDirs, tempDir } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

const TOTAL = 100_000
const API_KEY = 'csb_import_test_key_0123456789'

let sandbox: Sandbox
let relay: Relay
let file: string

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, apiKey: API_KEY })
  relay = await startTestRelay({
    env: { CSB_API_KEY: API_KEY, CSB_BASE_URL: sandbox.url },
    db: ':memory:',
    // The sandbox answers at once: run delivery wide, with a timeout long enough that a busy
    // test machine cannot turn a slow answer into a retry (and so a second request to CSB).
    configFile: { delivery: { maxConcurrency: 64, initialConcurrency: 64, adaptive: false, pollIntervalMs: 10, requestTimeoutMs: 120_000 } }
  })
  file = path.join(tempDir('csb-import-'), 'export.jsonl')
  const out = fs.openSync(file, 'w')
  const lines: string[] = []
  for (let i = 1; i <= TOTAL; i++) {
    const event: Record<string, unknown> = {
      type: 'identify',
      userId: `user-${i}`,
      traits: { account_id: `account-${i % 500}`, email: `user-${i}@example.test` },
      timestamp: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
      sentAt: new Date(Date.UTC(2024, 0, 1) + i * 1000 + 50).toISOString()
    }
    // Half the export carries messageIds; the other half gets deterministic ones from the importer.
    if (i % 2 === 0) event.messageId = `export-${i}`
    lines.push(JSON.stringify(event))
    if (lines.length === 10_000) {
      fs.writeSync(out, lines.join('\n') + '\n')
      lines.length = 0
    }
  }
  fs.closeSync(out)
}, 120_000)

afterAll(async () => {
  await relay?.close()
  await sandbox?.close()
  removeTempDirs()
})

function userRequests(): Map<string, number> {
  const seen = new Map<string, number>()
  for (const r of sandbox.requests({ path: '/api/v1_1/user' })) {
    const id = (r.body as { user_id: string }).user_id
    seen.set(id, (seen.get(id) ?? 0) + 1)
  }
  return seen
}

const env = () => ({ CSB_RELAY_WRITE_KEYS: TEST_WRITE_KEY })

describe('csb-relay import of 100,000 events', () => {
  // One test: the re-runs need the import finished, and a second import of 100,000 events would double the run.
  it('shows progress, survives SIGKILL halfway, resumes and delivers every event exactly once; a re-run sends nothing, a forced one is deduplicated', async () => {
    const checkpoint = `${file}.csb-import-checkpoint.json`
    const first = runCli(['import', file, '--url', relay.url, '--progress-interval', '0.2', '--batch-size', '1000'], { env: env() })
    await waitFor('half the file acknowledged', () => (readCheckpoint(checkpoint)?.line ?? 0) >= TOTAL / 2, { timeoutMs: 300_000, intervalMs: 20 })
    first.child.kill('SIGKILL')
    const killed = await first.exited
    expect(killed.signal).toBe('SIGKILL')
    const atKill = readCheckpoint(checkpoint)!
    expect(atKill.done).toBe(false)
    expect(atKill.line).toBeGreaterThanOrEqual(TOTAL / 2)
    expect(atKill.line).toBeLessThan(TOTAL)
    expect(first.stderr()).toMatch(/import: \d+\.\d% \(line [\d,]+\), [\d,]+ events sent, [\d,]+ events\/s, ETA \d+:\d\d/)

    const second = runCli(['import', file, '--url', relay.url, '--progress-interval', '0.2', '--batch-size', '1000'], { env: env() })
    const resumed = await second.exited
    expect(resumed.code, second.stderr()).toBe(0)
    expect(second.stdout()).toMatch(/resumed from the checkpoint; 0 bad line\(s\) skipped/)
    const sentAfterResume = Number(/Imported ([\d,]+) events/.exec(second.stdout())![1].replace(/,/g, ''))
    expect(sentAfterResume).toBeLessThanOrEqual(TOTAL - atKill.sent)
    expect(readCheckpoint(checkpoint)).toMatchObject({ done: true, line: TOTAL, offset: fs.statSync(file).size })

    await waitFor('all events delivered', async () => (await relay.store.counts()).delivered === TOTAL || undefined, { timeoutMs: 720_000, intervalMs: 250 })
    // Nothing was stored twice: exactly one stored event per line, all delivered.
    const counts = await relay.store.counts()
    expect(counts).toMatchObject({ delivered: TOTAL, dead: 0, skipped: 0, pending: 0, retrying: 0, inFlight: 0 })
    const seen = userRequests()
    expect(seen.size).toBe(TOTAL)
    expect([...seen.values()].every((n) => n === 1)).toBe(true)
    // Historical timestamps survive (sentAt is dropped, so no clock-skew correction).
    const one = sandbox.requests({ path: '/api/v1_1/user' }).find((r) => (r.body as { user_id: string }).user_id === 'user-7')!
    expect(JSON.stringify(one.body)).not.toContain(new Date().toISOString().slice(0, 10))

    // Run again: nothing sent. Forced (--restart): every event acknowledged, none stored again.
    const again = runCli(['import', file, '--url', relay.url], { env: env() })
    expect((await again.exited).code).toBe(0)
    expect(again.stdout()).toMatch(/was already imported .*Nothing sent/)

    const forced = runCli(['import', file, '--url', relay.url, '--restart', '--batch-size', '2000', '--quiet'], { env: env() })
    expect((await forced.exited).code, forced.stderr()).toBe(0)
    expect(forced.stdout()).toMatch(/Imported 100,000 events/)
    // Duplicates are acknowledged but never stored again: nothing new to deliver.
    const afterForced = await relay.store.counts()
    expect(afterForced.delivered).toBe(TOTAL)
    expect(afterForced.pending + afterForced.retrying + afterForced.inFlight).toBe(0)
    const metrics = await (await fetch(`${relay.url}/metrics`)).text()
    const duplicates = /csb_relay_ingested_events_total\{type="identify",result="duplicate"\} (\d+)/.exec(metrics)
    expect(Number(duplicates?.[1])).toBeGreaterThanOrEqual(TOTAL)
    expect(userRequests().size).toBe(TOTAL)
    expect(sandbox.requests({ path: '/api/v1_1/user' }).length).toBe(TOTAL)
  }, 1_200_000)
})
