/**
 * Two relay instances (the built CLI, separate processes) on one PostgreSQL database, each
 * delivering to two destinations: CSB (the sandbox process) and Segment's webhook definition (a
 * loopback stand-in). Clients alternate between the instances; one instance is killed with
 * SIGKILL while it delivers. Every acknowledged event reaches both destinations, in order per
 * user; duplicates stay within each destination's bound of sent-but-unrecorded events.
 * Build first (`npm run build`); needs CSB_RELAY_TEST_PG.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { openStore } from '../../src/store'
import type { RecordedRequest } from '../../src/sandbox'
import { startHookServer, type HookServer } from '../helpers/webhook-server'
import { removeTempDirs } from '../helpers/temp'
import { waitFor } from '../helpers/wait'
import { deliveredBy, startInstance, type Instance } from '../helpers/cluster'
import { assertBuilt, startSandboxProcess, type SandboxProcess } from '../helpers/processes'
import { sendLoad, type LoadPlan } from '../helpers/load'
import { createTestDatabase, requireTestPg, type TestDatabase } from '../helpers/pg'

const WRITE_KEY = 'wk_scale_two_destinations'
const MAX_CONCURRENCY = 8
const LEASE_MS = 2000
const delivery = {
  leaseMs: LEASE_MS, maxConcurrency: MAX_CONCURRENCY, initialConcurrency: MAX_CONCURRENCY, adaptive: false,
  pollIntervalMs: 20, backoffBaseMs: 50, backoffCapMs: 500, requestTimeoutMs: 5000
}

let db: TestDatabase | undefined
let sandbox: SandboxProcess | undefined
let hook: HookServer | undefined
const instances: Instance[] = []

beforeEach(async () => {
  requireTestPg()
  assertBuilt()
  db = await createTestDatabase()
})

afterEach(async () => {
  await Promise.all(instances.splice(0).map((i) => i.stop('SIGKILL')))
  await sandbox?.stop('SIGKILL')
  await hook?.close()
  sandbox = undefined
  hook = undefined
  await db?.drop()
  db = undefined
})

afterAll(() => removeTempDirs())

/** `user#seq` of each accepted delivery of this run, in arrival order. */
function csbDeliveries(recording: RecordedRequest[], run: string): string[] {
  const out: string[] = []
  for (const r of recording) {
    if (r.status !== 200 || r.path !== '/api/v1_1/feature') continue
    const body = r.body as { user_id?: string; feature_id?: string }
    if (!body.user_id?.startsWith(`${run}-`)) continue
    out.push(`${body.user_id}#${/^Step (\d+)$/.exec(body.feature_id ?? '')?.[1]}`)
  }
  return out
}

function hookDeliveries(h: HookServer, run: string): string[] {
  return h.accepted()
    .filter((e) => String(e.userId).startsWith(`${run}-`))
    .map((e) => `${String(e.userId)}#${/^Step (\d+)$/.exec(String(e.event))?.[1]}`)
}

/** Users whose first deliveries did not come in sequence order. */
function outOfOrder(keys: string[], eventsPerUser: number): string[] {
  const seen = new Set<string>()
  const order = new Map<string, number[]>()
  for (const k of keys) {
    if (seen.has(k)) continue
    seen.add(k)
    const [user, seq] = k.split('#')
    order.set(user!, [...(order.get(user!) ?? []), Number(seq)])
  }
  const expected = Array.from({ length: eventsPerUser }, (_, i) => i).join()
  return [...order.entries()].filter(([, seqs]) => seqs.join() !== expected).map(([u, seqs]) => `${u}: ${seqs.join(',')}`)
}

describe('two relay instances on one PostgreSQL, two destinations', () => {
  it('SIGKILL of one instance mid-stream: every acknowledged event reaches CSB and the webhook, in order per user', async () => {
    sandbox = await startSandboxProcess(['--latency', 'uniform:5:20'])
    hook = await startHookServer()
    const sb = sandbox
    const h = hook
    const config = {
      delivery,
      destinations: [{
        name: 'hooks', definition: 'webhook', settings: {}, delivery,
        subscriptions: [{ name: 'tracks', partnerAction: 'send', subscribe: 'type = "track"', mapping: { url: `${h.url}/in`, method: 'POST', data: { '@path': '$.' } } }]
      }]
    }
    const a = await startInstance({ db: db!.url, sandbox: sb, writeKey: WRITE_KEY, config })
    instances.push(a)
    const b = await startInstance({ db: db!.url, sandbox: sb, writeKey: WRITE_KEY, config })
    instances.push(b)

    const plan: LoadPlan = { run: `d${randomBytes(3).toString('hex')}`, users: 120, eventsPerUser: 10, clients: 6, pauseMs: 200 }
    const total = plan.users * plan.eventsPerUser
    let live = [a.url, b.url]
    const load = sendLoad(plan, WRITE_KEY, () => live)
    await waitFor('40% acknowledged and instance A delivering', async () => load.stats.acknowledged.length >= total * 0.4 && (await deliveredBy(a.url)) >= 20, {
      timeoutMs: 45_000, intervalMs: 20
    })
    const deliveredByA = await deliveredBy(a.url)
    live = [b.url]
    await a.stop('SIGKILL')
    const killedAt = Date.now()
    const stats = await load.done
    expect(stats.acknowledged).toHaveLength(total)

    const acked = new Set(stats.acknowledged.map((e) => `${e.user}#${e.seq}`))
    await waitFor(
      `all ${total} acknowledged events at both destinations`,
      async () => {
        const csb = new Set(csbDeliveries(await sb.recording(), plan.run))
        const hooked = new Set(hookDeliveries(h, plan.run))
        return [...acked].every((k) => csb.has(k) && hooked.has(k))
      },
      { timeoutMs: 90_000, intervalMs: 250 }
    )
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + LEASE_MS + 500 - Date.now())))
    const csb = csbDeliveries(await sb.recording(), plan.run)
    const hooked = hookDeliveries(h, plan.run)
    // docs/delivery.md, "Crashes": at most 2 x maxConcurrency events are sent but not recorded, per destination.
    const bound = 2 * MAX_CONCURRENCY
    for (const [name, keys] of [['CSB', csb], ['webhook', hooked]] as const) {
      const distinct = new Set(keys)
      expect(distinct.size, name).toBe(total)
      for (const k of distinct) expect(acked.has(k), `${name} got ${k}, never acknowledged`).toBe(true)
      expect(outOfOrder(keys, plan.eventsPerUser), name).toEqual([])
      expect(keys.length - distinct.size, `${name} duplicates`).toBeLessThanOrEqual(bound)
    }
    console.log(
      `two instances x two destinations, SIGKILL of A after it delivered ${deliveredByA}: ${total} events acknowledged; ` +
        `duplicates CSB ${csb.length - total}, webhook ${hooked.length - total} (bound ${bound} each)`
    )

    const store = await openStore(db!.url, { poolSize: 1, destinations: ['CustomerSuccessBox', 'hooks'] })
    try {
      const done = (c: Awaited<ReturnType<typeof store.counts>>) =>
        ['CustomerSuccessBox', 'hooks'].every((d) => c.byDestination[d]?.delivered === total && c.byDestination[d]?.inFlight === 0)
      const counts = await waitFor('every delivery recorded', async () => { const c = await store.counts(); return done(c) && c }, { timeoutMs: 15_000, intervalMs: 100 })
        .catch(async () => store.counts())
      for (const d of ['CustomerSuccessBox', 'hooks']) {
        expect(counts.byDestination[d], d).toMatchObject({ pending: 0, retrying: 0, inFlight: 0, delivered: total, dead: 0, skipped: 0 })
      }
    } finally {
      await store.close()
    }
  }, 180_000)
})
