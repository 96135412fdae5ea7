/**
 * The built relay as a process (`node bin/csb-relay.js start`), fed by a real SDK, delivering to
 * the sandbox. Build first: `npx tsc -p tsconfig.build.json`.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Analytics } from '@segment/analytics-node'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { accepted, waitFor } from './helpers'
import { postBatch, startRelayProcess, tempDir, type RelayProcess } from './relay-process'

const WRITE_KEY = 'process-test-write-key'
const fastDelivery = { backoffBaseMs: 50, backoffCapMs: 500, pollIntervalMs: 10, leaseMs: 2000, requestTimeoutMs: 2000 }

let relay: RelayProcess | undefined
let sandbox: Sandbox | undefined
afterEach(async () => {
  await relay?.stop('SIGKILL')
  await sandbox?.close()
  relay = undefined
  sandbox = undefined
})

function envFor(s: Sandbox) {
  return { CSB_RELAY_WRITE_KEYS: WRITE_KEY, CSB_API_KEY: s.apiKey, CSB_BASE_URL: s.url }
}

describe('relay process: SDK → relay → sandbox', () => {
  it('delivers the seed\'s four calls and an Engage audience sent with @segment/analytics-node', async () => {
    sandbox = await startSandbox({ port: 0 })
    relay = await startRelayProcess({ dir: tempDir('csb-delivery-'), env: envFor(sandbox), config: { delivery: fastDelivery } })
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: relay.url, path: '/v1/batch', flushInterval: 50, maxRetries: 1 })
    analytics.identify({ userId: 'userID123', traits: { account_id: '12345678', user_id: 'john.doe@company.com' } })
    analytics.track({ userId: 'userID123', event: 'Order Received', properties: { cost: '$120.00', account_id: '12345678', user_id: 'john.doe@company.com' } })
    analytics.group({ userId: 'userID123', groupId: 'accountId123', traits: { account_id: '12345678', name: 'ABC Group' } })
    analytics.page({ userId: 'userID123', name: 'orders', properties: { title: 'My Orders', account_id: '12345678', user_id: 'john.doe@company.com' } })
    // Engage: an audience identify without account_id, for the user the identify above linked to 12345678.
    analytics.identify({
      userId: 'john.doe@company.com',
      traits: { order_completed_last_30days: true },
      context: { personas: { computation_class: 'audience', computation_key: 'order_completed_last_30days', space_id: 'spa_1' } }
    })
    await analytics.closeAndFlush()
    const s = sandbox
    await waitFor('5 CSB requests', () => accepted(s).length >= 5)
    await new Promise((r) => setTimeout(r, 300))
    const requests = s.requests()
    expect(requests).toHaveLength(5)
    expect(requests.every((q) => q.status === 200)).toBe(true)
    expect(requests.every((q) => q.headers.authorization === `Bearer ${s.apiKey}`)).toBe(true)
    const byPath = (p: string) => requests.filter((q) => q.path === p).map((q) => q.body)
    expect(byPath('/api/v1_1/user')).toEqual([
      { account_id: '12345678', user_id: 'john.doe@company.com' },
      { account_id: '12345678', user_id: 'john.doe@company.com', order_completed_last_30days: true }
    ])
    expect(byPath('/api/v1_1/account')).toEqual([{ account_id: '12345678', name: 'ABC Group' }])
    expect(byPath('/api/v1_1/feature')).toEqual([
      expect.objectContaining({ account_id: '12345678', user_id: 'john.doe@company.com', feature_id: 'Order Received', type: 'feature', total: 1 })
    ])
    expect(byPath('/api_js/v1_1/page')).toEqual([
      expect.objectContaining({ account_id: '12345678', user_id: 'john.doe@company.com', type: 'page', name: 'orders', title: 'My Orders' })
    ])
    expect(relay.output()).not.toContain(s.apiKey)
  })

  it('SIGKILL during delivery: after restart nothing is lost; only events in flight may arrive twice', async () => {
    sandbox = await startSandbox({ port: 0, faults: { latency: 20 } })
    const s = sandbox
    const dir = tempDir('csb-delivery-kill-')
    const maxConcurrency = 8
    const config = { delivery: { ...fastDelivery, maxConcurrency, initialConcurrency: maxConcurrency } }
    relay = await startRelayProcess({ dir, env: envFor(s), config })
    const USERS = 50
    const PER_USER = 8
    const batch = []
    for (let i = 0; i < PER_USER; i++) {
      for (let u = 0; u < USERS; u++) batch.push({ type: 'track', userId: `k${u}`, event: `k${u}-e${i}`, messageId: `k${u}-e${i}`, properties: { account_id: 'acc' } })
    }
    const res = await postBatch(relay.url, WRITE_KEY, batch)
    expect(res.status).toBe(200)
    await waitFor('some deliveries', () => accepted(s).length >= 100)
    await relay.stop('SIGKILL')
    const beforeCrash = accepted(s).length
    expect(beforeCrash).toBeLessThan(USERS * PER_USER)

    relay = await startRelayProcess({ dir, env: envFor(s), config })
    await waitFor('every event delivered', () => new Set(accepted(s).map((q) => (q.body as { feature_id: string }).feature_id)).size === USERS * PER_USER, 60_000)
    await new Promise((r) => setTimeout(r, 300))
    const names = accepted(s).map((q) => (q.body as { feature_id: string }).feature_id)
    const duplicates = names.length - new Set(names).size
    console.log(`SIGKILL after ${beforeCrash} deliveries: ${duplicates} delivered twice (bound: ${maxConcurrency} in flight)`)
    expect(duplicates).toBeLessThanOrEqual(maxConcurrency)
    // In order per user (first arrival of each event).
    const first = [...new Set(names)]
    for (let u = 0; u < USERS; u++) {
      expect(first.filter((n) => n.startsWith(`k${u}-`))).toEqual(Array.from({ length: PER_USER }, (_, i) => `k${u}-e${i}`))
    }
  })
})
