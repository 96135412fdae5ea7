/**
 * Segment's own Webhooks (Actions) destination code (`@segment/action-destinations`,
 * `dist/destinations/webhook`) run through actions-core's `Destination.onEvent` and `onBatch`,
 * as Segment's pipeline runs it, posting to the built relay (a process), which delivers to the
 * sandbox. Build first: `npm run build`.
 */
import { createHmac, randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { accepted, fastDeliveryConfig } from '../helpers/delivery'
import { basicAuth, postEvents } from '../helpers/http'
import { waitFor } from '../helpers/wait'
import { startRelayProcess, type RelayProcess } from '../helpers/processes'
import { removeTempDirs, tempDir } from '../helpers/temp'

// CommonJS, as Segment runs it (actions-core's ESM build does not load on Node 20).
const require = createRequire(__filename)
const { Destination } = require('@segment/actions-core') as typeof import('@segment/actions-core')
const webhook = (require('@segment/action-destinations/dist/destinations/webhook') as { default: ConstructorParameters<typeof Destination>[0] }).default

const KEY = 'wk-basic-source-0123456'
const SIGNED_KEY = 'wk-signed-source-0123456'
const SECRET = 'shared-secret-0123456789'

let sandbox: Sandbox
let relay: RelayProcess
let destination: InstanceType<typeof Destination>

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 })
  relay = await startRelayProcess({
    dir: tempDir('csb-webhook-'),
    env: { CSB_API_KEY: sandbox.apiKey, CSB_BASE_URL: sandbox.url, LOG_LEVEL: 'warn' },
    config: {
      sources: [{ name: 'segment-basic', writeKey: KEY }, { name: 'segment-signed', writeKey: SIGNED_KEY, sharedSecret: SECRET }],
      delivery: fastDeliveryConfig
    }
  })
  destination = new Destination(webhook)
})
afterAll(async () => {
  await relay?.stop('SIGKILL')
  await sandbox?.close()
  removeTempDirs()
})


/** The destination's settings: one subscription of the Send action, the mapping's data the whole event. */
function settings(options: { sharedSecret?: string; authorization?: string; batching?: boolean }) {
  return {
    ...(options.sharedSecret ? { sharedSecret: options.sharedSecret } : {}),
    subscription: {
      subscribe: 'type = "track" or type = "identify"',
      partnerAction: 'send',
      mapping: {
        url: `${relay.url}/v1/webhook`,
        method: 'POST',
        data: { '@path': '$.' },
        ...(options.authorization ? { headers: { Authorization: options.authorization } } : {}),
        ...(options.batching ? { enable_batching: true, batch_size: 1000 } : {})
      }
    }
  }
}

/** A track event as Segment's pipeline hands it to a destination (normalised, with its own times). */
function track(user: string, name: string) {
  const now = new Date().toISOString()
  return {
    type: 'track', event: name, userId: user, anonymousId: `anon-${user}`, messageId: `ajs-${randomUUID()}`,
    timestamp: now, originalTimestamp: now, sentAt: now, receivedAt: now,
    properties: { account_id: 'acme', user_id: user },
    context: { library: { name: 'analytics.js', version: 'next-1.70.0' } },
    integrations: {}
  }
}

/** Event names interleaved across users: `<prefix><user>-<i>`; the name marks the order sent. */
function events(prefix: string, users: number, perUser: number) {
  const out: ReturnType<typeof track>[] = []
  for (let i = 0; i < perUser; i++) for (let u = 0; u < users; u++) out.push(track(`${prefix}${u}`, `${prefix}${u}-${i}`))
  return out
}

const featureNames = (prefix: string) =>
  accepted(sandbox, '/api/v1_1/feature').map((q) => (q.body as { feature_id: string }).feature_id).filter((n) => n.startsWith(prefix))

/** Waits for every event at the sandbox, then checks each arrived once and each user's in the order sent. */
async function expectDeliveredOnceInOrder(prefix: string, sent: Array<{ event: string; userId: string }>): Promise<void> {
  await waitFor(`${sent.length} "${prefix}" features at the sandbox`, () => featureNames(prefix).length >= sent.length)
  await new Promise((r) => setTimeout(r, 300))
  const names = featureNames(prefix)
  expect([...names].sort()).toEqual(sent.map((e) => e.event).sort())
  for (const user of new Set(sent.map((e) => e.userId))) {
    expect(names.filter((n) => n.startsWith(`${user}-`))).toEqual(sent.filter((e) => e.userId === user).map((e) => e.event))
  }
}

async function storedEvents(): Promise<Array<{ source: string; name: string | null; type: string; status: string; lastError: string | null }>> {
  const body = (await (await fetch(`${relay.url}/api/events?limit=500`)).json()) as { events: Awaited<ReturnType<typeof storedEvents>> }
  return body.events
}

/** The relay's count of events received again (dedupe), from /metrics. */
async function duplicatesCounted(): Promise<number> {
  const text = await (await fetch(`${relay.url}/metrics`)).text()
  return [...text.matchAll(/^csb_relay_ingested_events_total\{[^}]*result="duplicate"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
}

describe("Segment's Webhooks (Actions) destination → relay → sandbox", () => {
  it('single events with the write key by HTTP Basic (an Authorization header in the mapping)', async () => {
    const sent = events('basic', 3, 4)
    for (const event of sent) {
      const results = await destination.onEvent(event as never, settings({ authorization: basicAuth(KEY) }))
      expect(results.at(-1)).toEqual({ output: 'Action Executed', data: { success: true } })
    }
    await expectDeliveredOnceInOrder('basic', sent)
    const stored = (await storedEvents()).filter((e) => e.name?.startsWith('basic'))
    expect(new Set(stored.map((e) => e.source))).toEqual(new Set(['segment-basic']))
  })

  it('batches signed with the shared secret (onBatch; X-Signature over the first event)', async () => {
    const sent = events('batch', 4, 6)
    for (const chunk of [sent.slice(0, 10), sent.slice(10)]) {
      const results = await destination.onBatch(chunk as never, settings({ sharedSecret: SECRET, batching: true }))
      const statuses = (results[0] as { multistatus: Array<{ status: number }> }).multistatus.map((m) => m.status)
      expect(statuses).toEqual(chunk.map(() => 200))
    }
    await expectDeliveredOnceInOrder('batch', sent)
    const stored = (await storedEvents()).filter((e) => e.name?.startsWith('batch'))
    expect(stored).toHaveLength(sent.length)
    expect(new Set(stored.map((e) => e.source))).toEqual(new Set(['segment-signed']))
  })

  it('single signed events (onEvent; X-Signature over the body, no key)', async () => {
    const sent = events('signed', 2, 3)
    for (const event of sent) await destination.onEvent(event as never, settings({ sharedSecret: SECRET }))
    await expectDeliveredOnceInOrder('signed', sent)
    expect(new Set((await storedEvents()).filter((e) => e.name?.startsWith('signed')).map((e) => e.source))).toEqual(new Set(['segment-signed']))
  })

  it('a retried batch is acknowledged and not delivered twice', async () => {
    const sent = events('retry', 3, 3)
    const before = await duplicatesCounted()
    await destination.onBatch(sent as never, settings({ sharedSecret: SECRET, batching: true }))
    await expectDeliveredOnceInOrder('retry', sent)
    const again = await destination.onBatch(sent as never, settings({ sharedSecret: SECRET, batching: true }))
    expect((again[0] as { multistatus: Array<{ status: number }> }).multistatus.every((m) => m.status === 200)).toBe(true)
    await waitFor('the retry counted as duplicates', async () => (await duplicatesCounted()) - before >= sent.length)
    // A later event of the same users arrives after anything the retry could have queued.
    const marker = track('retry0', 'retry0-marker')
    await destination.onEvent(marker as never, settings({ sharedSecret: SECRET }))
    await waitFor('the marker delivered', () => featureNames('retry0-marker').length === 1)
    expect(featureNames('retry').filter((n) => n !== 'retry0-marker').sort()).toEqual(sent.map((e) => e.event).sort())
  })

  it('a wrong secret and a wrong key are refused with 401, and nothing is stored or delivered', async () => {
    const wrongKey = track('refused0', 'refused0-key')
    await expect(destination.onEvent(wrongKey as never, settings({ authorization: basicAuth(`${KEY}x`) }))).rejects.toMatchObject({ response: { status: 401 } })
    await expect(destination.onEvent(wrongKey as never, settings({ sharedSecret: `${SECRET}x` }))).rejects.toMatchObject({ response: { status: 401 } })
    // The signed source's own key without its signature is refused too.
    await expect(destination.onEvent(wrongKey as never, settings({ authorization: basicAuth(SIGNED_KEY) }))).rejects.toMatchObject({ response: { status: 401 } })
    const batch = [track('refused0', 'refused0-batch-1'), track('refused0', 'refused0-batch-2')]
    await expect(destination.onBatch(batch as never, settings({ sharedSecret: `${SECRET}x`, batching: true }))).rejects.toMatchObject({ response: { status: 401 } })

    // The same user's next good event: anything stored before it would be delivered before it.
    await destination.onEvent(track('refused0', 'refused0-good') as never, settings({ authorization: basicAuth(KEY) }))
    await waitFor('the good event delivered', () => featureNames('refused0-good').length === 1)
    expect(featureNames('refused0')).toEqual(['refused0-good'])
    expect((await storedEvents()).filter((e) => e.name?.startsWith('refused0')).map((e) => e.name)).toEqual(['refused0-good'])
  })
})

describe('the classic Webhooks shape: one event per request, X-Signature over the body', () => {
  const post = (event: unknown) => {
    const body = JSON.stringify(event)
    return postEvents(relay.url, '/v1/webhook', null, body, { headers: { 'x-signature': createHmac('sha1', SECRET).update(body).digest('hex') } })
  }

  it('delivers each user\'s events in order', async () => {
    const sent = events('classic', 2, 3)
    for (const event of sent) expect((await post(event)).status).toBe(200)
    await expectDeliveredOnceInOrder('classic', sent)
  })

  it('runs a user deletion request (type "delete") as a DELETE_ONLY regulation: the user\'s stored events go, the request is not stored', async () => {
    const kept = track('erased0', 'erased0-before')
    expect((await post(kept)).status).toBe(200)
    await waitFor('the event delivered', () => featureNames('erased0-before').length === 1)
    const deletion = { type: 'delete', userId: 'erased0', messageId: `del-${randomUUID()}`, context: {}, timestamp: new Date().toISOString() }
    // The unsigned source (its write key alone) may not delete: refused whole, with the fix.
    const unsigned = await postEvents(relay.url, '/v1/webhook', KEY, deletion)
    expect(unsigned.status).toBe(403)
    expect(unsigned.json<{ error: string }>().error).toMatch(/^source "segment-basic" may not delete users .*set "sharedSecret" on it/)
    // The signed source accepts deletions by default (no acceptDeletions in its config).
    expect((await post(deletion)).status).toBe(200)
    type Listed = { id: string; regulationType: string; origin: string; status: string }
    const regulation = await waitFor('the regulation finished', async () => {
      const { data } = (await (await fetch(`${relay.url}/api/regulations`)).json()) as { data: { regulations: Listed[] } }
      return data.regulations.find((r) => r.origin === 'event' && r.status !== 'RUNNING')
    })
    expect(regulation).toMatchObject({ regulationType: 'DELETE_ONLY', status: 'FINISHED' })
    const { data } = (await (await fetch(`${relay.url}/api/regulations/${regulation.id}`)).json()) as { data: { regulation: { subjectIds: string[]; counts: { events: number } } } }
    expect(data.regulation).toMatchObject({ subjectIds: ['erased0'], counts: { events: 1 } })
    const stored = await storedEvents()
    expect(stored.filter((e) => e.type === 'delete' || e.name?.startsWith('erased0'))).toEqual([])
  })
})
