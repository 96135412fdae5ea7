/**
 * Retention end to end: `csb-relay start` (the built relay, SQLite) prunes on its own, on its
 * timer (store.pruneIntervalMs), with retentions set in milliseconds. Nothing here asks it to:
 * the test only reads the admin API, as the dashboard does. Delivered events go once past their
 * retention and not before; dead letters stay until theirs, then go; an event still retrying
 * stays throughout.
 */
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { accepted, fastDeliveryConfig } from '../helpers/delivery'
import { assertBuilt, startRelayProcess, type RelayProcess } from '../helpers/processes'
import { tempDir } from '../helpers/temp'
import { waitFor } from '../helpers/wait'
import { send } from './regulations-helpers'

const WRITE_KEY = 'wk-retention-test'
const FINISHED_MS = 3000
const DEAD_MS = 15_000

interface Listed {
  name: string
  status: string
  finishedAt: string | null
}

const track = (userId: string, name: string) => ({
  type: 'track', userId, event: name, messageId: `ret-${name}`, properties: { account_id: 'acc-retention' }
})

describe('retention end to end: csb-relay start prunes on its own', () => {
  let sandbox: Sandbox
  let relay: RelayProcess

  beforeAll(async () => {
    assertBuilt()
    sandbox = await startSandbox({ port: 0 })
    const rule = (name: string, status: number) => ({ match: { path: '/api/v1_1/feature', body: { feature_id: name } }, status })
    sandbox.setFaults({ rules: [rule('Doomed-1', 400), rule('Doomed-2', 400), rule('Stuck', 503)] })
    relay = await startRelayProcess({
      dir: tempDir('retention'),
      env: { LOG_LEVEL: 'info' },
      config: {
        sources: [{ name: 'retention-test', writeKey: WRITE_KEY }],
        csb: { apiKey: sandbox.apiKey, baseUrl: sandbox.url },
        delivery: fastDeliveryConfig,
        store: { retentionMs: FINISHED_MS, deadLetterRetentionMs: DEAD_MS, pruneIntervalMs: 1000 }
      }
    })
  })

  afterAll(async () => {
    const code = await relay?.stop()
    await sandbox?.close()
    if (relay) fs.rmSync(relay.dir, { recursive: true, force: true })
    expect(code).toEqual({ code: 0, signal: null })
  })

  const list = async (status: string): Promise<Listed[]> => {
    const res = await fetch(`${relay.url}/api/events?status=${status}&limit=100`)
    expect(res.status).toBe(200)
    return ((await res.json()) as { events: Listed[] }).events
  }
  const names = (events: Listed[]) => events.map((e) => e.name).sort()
  const latestFinish = (events: Listed[]) => Math.max(...events.map((e) => Date.parse(e.finishedAt!)))
  const earliestFinish = (events: Listed[]) => Math.min(...events.map((e) => Date.parse(e.finishedAt!)))

  it('delivered events go after their retention, dead letters after theirs, the retrying event stays', async () => {
    for (const [i, name] of ['Shipped-1', 'Shipped-2', 'Shipped-3', 'Doomed-1', 'Doomed-2', 'Stuck'].entries()) {
      expect(await send(relay.url, WRITE_KEY, 'track', track(`u-${i}`, name))).toBe(200)
    }
    const delivered = await waitFor('three delivered', async () => {
      const rows = await list('delivered')
      return rows.length === 3 ? rows : undefined
    }, { intervalMs: 50 })
    expect(names(delivered)).toEqual(['Shipped-1', 'Shipped-2', 'Shipped-3'])
    expect(accepted(sandbox, '/api/v1_1/feature')).toHaveLength(3)
    const dead = await waitFor('two dead letters', async () => {
      const rows = await list('dead')
      return rows.length === 2 ? rows : undefined
    }, { intervalMs: 50 })
    expect(names(dead)).toEqual(['Doomed-1', 'Doomed-2'])
    await waitFor('the stuck event retried', () => sandbox.requests({ path: '/api/v1_1/feature' }).filter((r) => r.status === 503).length >= 2)

    // Gone once past their time, and not before it.
    await waitFor('the delivered events pruned', async () => (await list('delivered')).length === 0, { timeoutMs: 15_000, intervalMs: 100 })
    expect(Date.now()).toBeGreaterThanOrEqual(latestFinish(delivered) + FINISHED_MS)
    // Still inside their own retention: the dead letters and the retrying event stay.
    const deadNow = await list('dead')
    expect(Date.now()).toBeLessThan(earliestFinish(dead) + DEAD_MS)
    expect(names(deadNow)).toEqual(['Doomed-1', 'Doomed-2'])
    expect((await list('retrying')).map((e) => e.name)).toEqual(['Stuck'])

    await waitFor('the dead letters pruned', async () => (await list('dead')).length === 0, { timeoutMs: 30_000, intervalMs: 200 })
    expect(Date.now()).toBeGreaterThanOrEqual(latestFinish(dead) + DEAD_MS)
    expect((await list('retrying')).map((e) => e.name)).toEqual(['Stuck'])
    // The relay logs each prune that deleted something: five events in all.
    const prunes = relay.stdout().split('\n').filter((line) => line.includes('store: pruned events past their retention'))
    expect(prunes.map((line) => (JSON.parse(line) as { deleted: number }).deleted).reduce((a, b) => a + b, 0)).toBe(5)
  }, 60_000)

  it('the dashboard says what is kept and for how long', async () => {
    const overview = (await (await fetch(`${relay.url}/api/overview`)).json()) as { retention: string }
    expect(overview.retention).toContain('for 3 seconds after they finish; dead letters for 15 seconds after they fail')
    expect(overview.retention).toContain('Pruned every second')
  })
})
