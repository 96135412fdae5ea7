/**
 * CustomerSuccessBox plus Segment's `webhook` definition, each against its own stand-in (the CSB
 * sandbox; a loopback HTTP server): every event reaches both, in order per user, once; a webhook
 * outage holds back neither CSB nor, once it ends, the webhook; batches carry arrays.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { randomUUID } from 'node:crypto'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import type { Relay } from '../../src/cli/relay'
import { post, startTestRelay } from '../helpers/relay'
import { waitFor } from '../helpers/wait'
import { startHookServer, type HookServer } from '../helpers/webhook-server'

const USERS = ['u1', 'u2', 'u3']
const PER_USER = 8
const fast = { backoffBaseMs: 100, backoffCapMs: 1000, pollIntervalMs: 10, requestTimeoutMs: 3000 }

let open: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  for (const o of open.reverse()) await o.close()
  open = []
})

async function rig(
  subscription: Record<string, unknown>,
  delivery: Record<string, unknown> = {},
  filters?: unknown[],
  /** More top-level settings of the config file (e.g. `consent`). */
  more: Record<string, unknown> = {}
): Promise<{ relay: Relay; sandbox: Sandbox; hook: HookServer }> {
  const sandbox = await startSandbox({ port: 0 })
  const hook = await startHookServer()
  open.push(sandbox, hook)
  const relay = await startTestRelay({
    env: { CSB_API_KEY: sandbox.apiKey, CSB_BASE_URL: sandbox.url },
    configFile: {
      ...more,
      delivery: { ...fast, ...((more.delivery as Record<string, unknown> | undefined) ?? {}) },
      destinations: [
        {
          name: 'hooks',
          definition: 'webhook',
          settings: { sharedSecret: 'hook-secret-value' },
          subscriptions: [{ name: 'tracks', partnerAction: 'send', subscribe: 'type = "track"', mapping: { url: `${hook.url}/in`, method: 'POST', data: { '@path': '$.' }, ...subscription } }],
          delivery: { ...fast, ...delivery },
          ...(filters ? { filters } : {})
        }
      ]
    }
  })
  open.push(relay)
  return { relay, sandbox, hook }
}

/** Sends PER_USER track events per user, interleaved, in small batches; returns their names in sending order. */
async function send(relay: Relay): Promise<string[]> {
  const names: string[] = []
  const run = randomUUID().slice(0, 6)
  for (let i = 0; i < PER_USER; i++) {
    const batch = USERS.map((u) => {
      const event = `E-${run}-${u}-${String(i).padStart(2, '0')}`
      names.push(event)
      return { type: 'track', userId: u, event, messageId: randomUUID(), properties: { seq: i, account_id: `acc-${u}` } }
    })
    const res = await post(relay, '/v1/batch', { batch })
    expect(res.status).toBe(200)
  }
  return names
}

function csbNames(sandbox: Sandbox, names: string[]): string[] {
  const text = sandbox.requests().filter((r) => r.status < 300).map((r) => JSON.stringify(r.body))
  return names.filter((n) => text.some((t) => t.includes(n))).sort((a, b) => firstIndex(text, a) - firstIndex(text, b))
}
const firstIndex = (texts: string[], n: string) => texts.findIndex((t) => t.includes(n))

function expectOrderPerUser(received: string[], names: string[]): void {
  for (const u of USERS) {
    const sent = names.filter((n) => n.includes(`-${u}-`))
    expect(received.filter((n) => n.includes(`-${u}-`))).toEqual(sent)
  }
}

describe('CSB and the webhook definition side by side', () => {
  it('delivers every event to both, in order per user, with no duplicates', async () => {
    const { relay, sandbox, hook } = await rig({})
    const names = await send(relay)
    await waitFor('the webhook to get every event', () => hook.accepted().length >= names.length)
    await waitFor('CSB to get every event', () => csbNames(sandbox, names).length === names.length)
    const hooked = hook.accepted().map((b) => String(b.event))
    expect(hooked).toHaveLength(names.length)
    expect(new Set(hooked).size).toBe(names.length)
    expectOrderPerUser(hooked, names)
    expectOrderPerUser(csbNames(sandbox, names), names)
    // The shared secret signs the webhook's requests, and never appears in what the relay shows.
    expect(hook.requests[0].headers['x-signature']).toMatch(/^[0-9a-f]{40}$/)
    // A stand-in records a request before the relay commits its outcome: wait for the last outcomes.
    const counts = await waitFor('every delivery recorded', async () => {
      const c = (await relay.store.counts()).byDestination
      return c.hooks.delivered === names.length && c.CustomerSuccessBox.delivered === names.length && c
    }).catch(async () => (await relay.store.counts()).byDestination)
    expect(counts.hooks.delivered).toBe(names.length)
    expect(counts.CustomerSuccessBox.delivered).toBe(names.length)
  }, 30_000)

  it('goes on delivering to CSB while the webhook answers 503 for 10 s; the webhook catches up', async () => {
    const { relay, sandbox, hook } = await rig({})
    hook.failUntil = Date.now() + 10_000
    const names = await send(relay)
    await waitFor('CSB to get every event during the outage', () => csbNames(sandbox, names).length === names.length, { timeoutMs: 8_000 })
    expect(Date.now()).toBeLessThan(hook.failUntil)
    expect(hook.accepted()).toHaveLength(0)
    expect(hook.requests.length).toBeGreaterThan(0)
    await waitFor('the webhook to catch up', () => hook.accepted().length >= names.length, { timeoutMs: 20_000 })
    const hooked = hook.accepted().map((b) => String(b.event))
    expect(new Set(hooked).size).toBe(names.length)
    expect(hooked).toHaveLength(names.length)
    expectOrderPerUser(hooked, names)
    expectOrderPerUser(csbNames(sandbox, names), names)
  }, 40_000)

  it('batches: requests carry arrays, order per user holds, a failed batch is retried without duplicates', async () => {
    const { relay, hook } = await rig({ enable_batching: true, batch_size: 6 }, { initialConcurrency: 12, maxConcurrency: 12 })
    hook.failNext = 1
    const names = await send(relay)
    await waitFor('the webhook to get every event', () => hook.accepted().length >= names.length, { timeoutMs: 20_000 })
    expect(hook.requests[0].status).toBe(503)
    expect(hook.requests.every((r) => Array.isArray(r.body))).toBe(true)
    expect(hook.requests.some((r) => (r.body as unknown[]).length > 1)).toBe(true)
    expect(Math.max(...hook.requests.map((r) => (r.body as unknown[]).length))).toBeLessThanOrEqual(6)
    const hooked = hook.accepted().map((b) => String(b.event))
    expect(hooked).toHaveLength(names.length)
    expect(new Set(hooked).size).toBe(names.length)
    expectOrderPerUser(hooked, names)
    // The events of the failed batch were sent again; none of the others twice.
    const failed = (hook.requests[0].body as Array<{ event: string }>).map((e) => e.event)
    expect(failed.length).toBeGreaterThan(0)
    for (const n of failed) expect(hooked.filter((h) => h === n)).toHaveLength(1)
  }, 30_000)

  it('skips per destination: integrations by name or definition name, and the destination\'s own filters', async () => {
    const { relay, sandbox, hook } = await rig({}, {}, [{ name: 'no internal', drop: 'properties.internal = true' }])
    const track = (event: string, extra: Record<string, unknown> = {}) => ({ type: 'track', userId: 'u9', event, messageId: randomUUID(), properties: { account_id: 'acc-9' }, ...extra })
    const batch = [
      track('Both'),
      track('Not to Webhook', { integrations: { Webhook: false } }),
      track('Not to hooks', { integrations: { hooks: false } }),
      track('Internal', { properties: { account_id: 'acc-9', internal: true } }),
      track('Not to CSB', { integrations: { CustomerSuccessBox: false } })
    ]
    expect((await post(relay, '/v1/batch', { batch })).status).toBe(200)
    await waitFor('every row settled', async () => {
      const c = (await relay.store.counts()).byDestination
      return c.hooks.delivered + c.hooks.skipped === 5 && c.CustomerSuccessBox.delivered + c.CustomerSuccessBox.skipped === 5
    })
    expect(hook.accepted().map((e) => e.event)).toEqual(['Both', 'Not to CSB'])
    expect(csbNames(sandbox, ['Both', 'Not to Webhook', 'Not to hooks', 'Internal', 'Not to CSB'])).toEqual(['Both', 'Not to Webhook', 'Not to hooks', 'Internal'])
    const skipped = await relay.store.list({ status: 'skipped', destination: 'hooks' })
    expect(skipped.map((e) => e.lastError).sort()).toEqual(['integrations.Webhook is false', 'integrations.hooks is false', expect.stringContaining('no internal')].sort())
    const csbSkipped = await relay.store.list({ status: 'skipped', destination: 'CustomerSuccessBox' })
    expect(csbSkipped.map((e) => e.lastError)).toEqual(['integrations.CustomerSuccessBox is false'])
  }, 30_000)

  it('goes on delivering to CSB while the webhook answers 429; the webhook is retried, not dead-lettered', async () => {
    const { relay, sandbox, hook } = await rig({})
    hook.answer = 429
    const names = await send(relay)
    await waitFor('CSB to get every event while the webhook answers 429', () => csbNames(sandbox, names).length === names.length, { timeoutMs: 8_000 })
    expect(hook.accepted()).toHaveLength(0)
    expect(hook.requests.some((r) => r.status === 429)).toBe(true)
    const during = (await relay.store.counts()).byDestination.hooks
    expect(during.dead).toBe(0)
    hook.answer = undefined
    await waitFor('the webhook to catch up', () => hook.accepted().length >= names.length, { timeoutMs: 20_000 })
    const hooked = hook.accepted().map((b) => String(b.event))
    expect(new Set(hooked).size).toBe(names.length)
    expectOrderPerUser(hooked, names)
  }, 40_000)

  it("keeps CSB's own behaviours to CSB: the webhook gets the event as routed, without the account filled in", async () => {
    const { relay, sandbox, hook } = await rig({})
    const identify = { type: 'identify', userId: 'u-acc', messageId: randomUUID(), traits: { account_id: 'acc-77', email: 'a@b.test' } }
    expect((await post(relay, '/v1/batch', { batch: [identify] })).status).toBe(200)
    await waitFor('the identify delivered to CSB', async () => (await relay.store.counts()).byDestination.CustomerSuccessBox.delivered === 1)
    const event = `Filled-${randomUUID().slice(0, 6)}`
    expect((await post(relay, '/v1/batch', { batch: [{ type: 'track', userId: 'u-acc', event, messageId: randomUUID() }] })).status).toBe(200)
    await waitFor('the webhook to get the track', () => hook.accepted().some((e) => e.event === event))
    await waitFor('CSB to get the track', () => csbNames(sandbox, [event]).length === 1)
    // CSB's request carries the account the identity map knows; the webhook's event has none.
    const csbBody = sandbox.requests().find((r) => JSON.stringify(r.body).includes(event))!.body as Record<string, unknown>
    expect(JSON.stringify(csbBody)).toContain('acc-77')
    const hooked = hook.accepted().find((e) => e.event === event)!
    expect(JSON.stringify(hooked)).not.toContain('acc-77')
  }, 30_000)

  it('applies end-user consent per destination: the webhook mapped to "marketing" skips what CSB still gets', async () => {
    const { relay, sandbox, hook } = await rig({}, {}, undefined, { consent: { hooks: ['marketing'] } })
    const run = randomUUID().slice(0, 6)
    const denied = `NoMarketing-${run}`
    const granted = `Marketing-${run}`
    const consent = (marketing: boolean) => ({ consent: { categoryPreferences: { marketing, analytics: true } } })
    const batch = [
      { type: 'track', userId: 'u-c', event: denied, messageId: randomUUID(), context: consent(false), properties: { account_id: 'acc-c' } },
      { type: 'track', userId: 'u-c', event: granted, messageId: randomUUID(), context: consent(true), properties: { account_id: 'acc-c' } }
    ]
    expect((await post(relay, '/v1/batch', { batch })).status).toBe(200)
    await waitFor('CSB to get both', () => csbNames(sandbox, [denied, granted]).length === 2)
    await waitFor('the webhook to get the consented one', () => hook.accepted().some((e) => e.event === granted))
    await waitFor('the webhook to settle both', async () => {
      const c = (await relay.store.counts()).byDestination.hooks
      return c.delivered === 1 && c.skipped === 1
    })
    expect(hook.accepted().some((e) => e.event === denied)).toBe(false)
    const reasons = await relay.store.reasons({ destination: 'hooks' })
    expect(reasons.some((r) => r.reason === 'Filtered by end user consent' && r.status === 'skipped')).toBe(true)
  }, 30_000)

  it("keeps CSB's limit of distinct feature names to CSB: past it CSB dead-letters, the webhook still gets every event", async () => {
    const { relay, sandbox, hook } = await rig({}, {}, undefined, { delivery: { maxDistinctFeatures: 2 } })
    const run = randomUUID().slice(0, 6)
    const names = [1, 2, 3, 4].map((i) => `Feature-${run}-${i}`)
    const batch = names.map((event) => ({ type: 'track', userId: `u-${event}`, event, messageId: randomUUID(), properties: { account_id: 'acc-n' } }))
    expect((await post(relay, '/v1/batch', { batch })).status).toBe(200)
    await waitFor('the webhook to get every event', () => names.every((n) => hook.accepted().some((e) => e.event === n)))
    await waitFor('CSB to settle every event', async () => {
      const c = (await relay.store.counts()).byDestination.CustomerSuccessBox
      return c.delivered + c.dead === names.length
    })
    const csb = (await relay.store.counts()).byDestination.CustomerSuccessBox
    expect(csb).toMatchObject({ delivered: 2, dead: 2 })
    expect(csbNames(sandbox, names)).toHaveLength(2)
    expect((await relay.store.counts()).byDestination.hooks).toMatchObject({ delivered: 4, dead: 0 })
  }, 30_000)
})
