/**
 * Two relay instances on one PostgreSQL database share dedupe and the identity map.
 * Build first: `npx tsc -p tsconfig.build.json`; needs CSB_RELAY_TEST_PG (scripts/test.sh sets it).
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store'
import type { RecordedRequest } from '../../src/sandbox'
import { assertBuilt, startSandboxProcess, type SandboxProcess } from '../helpers/processes'
import { removeTempDirs } from '../helpers/temp'
import { waitFor } from '../helpers/wait'
import { startInstance, type Instance } from '../helpers/cluster'
import { postBatch } from '../helpers/http'
import { createTestDatabase, requireTestPg, type TestDatabase } from '../helpers/pg'

const WRITE_KEY = 'wk_scale_shared_state'
const config = { delivery: { leaseMs: 2000, pollIntervalMs: 20, backoffBaseMs: 50, backoffCapMs: 500 } }

let db: TestDatabase | undefined
let sandbox: SandboxProcess | undefined
const instances: Instance[] = []

// Checked in beforeEach (not beforeAll) so that a missing server fails each test instead of skipping it.
beforeEach(async () => {
  requireTestPg()
  assertBuilt()
  sandbox ??= await startSandboxProcess()
  db = await createTestDatabase()
})
afterAll(async () => {
  await sandbox?.stop('SIGKILL')
  removeTempDirs()
})
afterEach(async () => {
  await Promise.all(instances.splice(0).map((i) => i.stop('SIGKILL')))
  await db?.drop()
  db = undefined
})

async function instance(withConfig: Record<string, unknown> = config): Promise<Instance> {
  const started = await startInstance({ db: db!.url, sandbox, writeKey: WRITE_KEY, config: withConfig })
  instances.push(started)
  return started
}

async function requestsFor(userId: string): Promise<RecordedRequest[]> {
  return (await sandbox!.recording()).filter((r) => (r.body as { user_id?: unknown } | null)?.user_id === userId)
}

describe('two instances on one PostgreSQL share state', () => {
  it('a messageId sent to both instances (one after the other, and at the same moment) is stored and delivered once', async () => {
    const [a, b] = await Promise.all([instance(), instance()])
    const user = `dedupe-${db!.name}`
    const event = (messageId: string, name: string) => ({ type: 'track', messageId, userId: user, event: name, properties: { account_id: 'acc-1' } })
    const first = event(`${db!.name}-m1`, 'Sent Twice')
    expect(await postBatch(a.url, WRITE_KEY, [first])).toBe(200)
    expect(await postBatch(b.url, WRITE_KEY, [first])).toBe(200)
    const raced = event(`${db!.name}-m2`, 'Sent At Once')
    expect(await Promise.all([postBatch(a.url, WRITE_KEY, [raced]), postBatch(b.url, WRITE_KEY, [raced])])).toEqual([200, 200])
    // A third event after them: once it is delivered, the two before it (same user) have been too.
    expect(await postBatch(b.url, WRITE_KEY, [event(`${db!.name}-m3`, 'Last')])).toBe(200)
    await waitFor('the last event to be delivered', async () => (await requestsFor(user)).some((r) => (r.body as { feature_id: string }).feature_id === 'Last'), { timeoutMs: 20_000 })
    await new Promise((r) => setTimeout(r, 500))

    const features = (await requestsFor(user)).map((r) => (r.body as { feature_id: string }).feature_id)
    expect(features).toEqual(['Sent Twice', 'Sent At Once', 'Last'])
    const store = await openStore(db!.url, { poolSize: 1 })
    try {
      const ours = async () => (await store.list({ limit: 100 })).filter((e) => e.event.userId === user)
      // The sandbox records a request before the relay commits its outcome: wait for the outcomes.
      const stored = await waitFor('the outcomes to be recorded', async () => {
        const events = await ours()
        return events.every((e) => e.status === 'delivered') && events
      }, { timeoutMs: 10_000 }).catch(ours)
      expect(stored.map((e) => e.messageId).sort()).toEqual([`${db!.name}-m1`, `${db!.name}-m2`, `${db!.name}-m3`])
      expect(stored.map((e) => e.status)).toEqual(['delivered', 'delivered', 'delivered'])
    } finally {
      await store.close()
    }
  }, 60_000)

  it('an identify with account_id sent to instance A fills account_id for an Engage audience event sent to instance B', async () => {
    const user = `engage-${db!.name}@example.com`
    // A alone learns the link, so B cannot have learned it itself.
    const a = await instance()
    expect(await postBatch(a.url, WRITE_KEY, [{ type: 'identify', userId: user, traits: { account_id: 'acc-shared', name: 'Jo' } }])).toBe(200)
    await waitFor('the identify to be delivered by A', async () => (await requestsFor(user)).length === 1, { timeoutMs: 20_000 })
    await a.stop('SIGTERM')

    const b = await instance()
    const audience = {
      type: 'identify',
      userId: user,
      traits: { vip_users: true },
      context: { personas: { computation_class: 'audience', computation_key: 'vip_users', space_id: 'spa_1' } }
    }
    expect(await postBatch(b.url, WRITE_KEY, [audience])).toBe(200)
    const requests = await waitFor('the audience identify to be delivered by B', async () => {
      const seen = await requestsFor(user)
      return seen.length === 2 && seen
    }, { timeoutMs: 20_000 })
    expect(requests.map((r) => [r.path, r.status])).toEqual([
      ['/api/v1_1/user', 200],
      ['/api/v1_1/user', 200]
    ])
    expect(requests[1]!.body).toEqual({ account_id: 'acc-shared', user_id: user, vip_users: true })
  }, 60_000)

  it('two instances sending new feature names at once keep to one limit of distinct names', async () => {
    const limited = { delivery: { ...config.delivery, maxDistinctFeatures: 3 } }
    const [a, b] = await Promise.all([instance(limited), instance(limited)])
    const prefix = `names-${db!.name}`
    const events = (side: string) =>
      Array.from({ length: 4 }, (_, i) => ({ type: 'track', userId: `${prefix}-${side}${i}`, event: `Feature ${side}${i}`, properties: { account_id: 'acc-1' } }))
    expect(await Promise.all([postBatch(a.url, WRITE_KEY, events('a')), postBatch(b.url, WRITE_KEY, events('b'))])).toEqual([200, 200])
    const store = await openStore(db!.url, { poolSize: 1 })
    try {
      const finished = await waitFor('all eight events delivered or dead-lettered', async () => {
        const list = await store.list({ limit: 100 })
        return list.length === 8 && list.every((e) => e.status === 'delivered' || e.status === 'dead') && list
      }, { timeoutMs: 20_000 })
      const delivered = finished.filter((e) => e.status === 'delivered')
      const dead = finished.filter((e) => e.status === 'dead')
      expect(delivered).toHaveLength(3)
      expect(dead).toHaveLength(5)
      for (const e of dead) expect(e.lastError).toMatch(/^NameLimitError: feature_id is a feature name not sent before.*maxDistinctFeatures = 3/)
      // CSB saw three names, from either instance.
      const seen = (await sandbox!.recording())
        .filter((r) => String((r.body as { user_id?: unknown } | null)?.user_id ?? '').startsWith(prefix))
        .map((r) => (r.body as { feature_id: string }).feature_id)
      expect(new Set(seen).size).toBe(3)
      expect((await store.listNames('feature')).sort()).toEqual([...new Set(seen)].sort())
    } finally {
      await store.close()
    }
  }, 60_000)
})
