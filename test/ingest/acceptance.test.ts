/**
 * Segment's acceptance rules through the built relay (`npm run build` first), delivering to the
 * sandbox: a malformed timestamp or sentAt is accepted (200), replaced by the time of receipt and
 * kept beside, and counted; junk ids ("undefined", "null", "[object Object]") count as absent, so
 * no CSB user is ever named after them: an event left without an id is dead-lettered with a
 * reason naming the junk value, and junk-id events do not share one ordering key.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { accepted, fastDelivery } from '../helpers/delivery'
import { postEvents } from '../helpers/http'
import { startRelayProcess, type RelayProcess } from '../helpers/processes'
import { parsePrometheus } from '../helpers/prom'
import { removeTempDirs, tempDir } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

const WRITE_KEY = 'acceptance-write-key'
const ADMIN = 'acceptance-admin-token'

let relay: RelayProcess | undefined
let sandbox: Sandbox | undefined
afterEach(async () => {
  await relay?.stop()
  await sandbox?.close()
})
afterAll(removeTempDirs)

const post = (path: string, body: unknown) => postEvents(relay!.url, path, WRITE_KEY, body)

async function admin<T>(path: string): Promise<T> {
  const res = await fetch(`${relay!.url}/api${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })
  expect(res.status).toBe(200)
  return (await res.json()) as T
}

interface Listed { id: string; messageId: string; status: string; lastError: string | null }
const byMessageId = async () => new Map((await admin<{ events: Listed[] }>('/events?limit=500')).events.map((e) => [e.messageId, e]))
const detail = (id: string) => admin<{ orderingKey: string; samples: { received: Record<string, unknown> } }>(`/events/${id}`)

describe("Segment's acceptance rules, through the relay", () => {
  it('accepts malformed times and junk ids, repairs and counts them, and dead-letters events left without an id naming the junk', async () => {
    sandbox = await startSandbox({ port: 0 })
    const s = sandbox
    relay = await startRelayProcess({
      dir: tempDir('csb-acceptance-'),
      env: { CSB_RELAY_WRITE_KEYS: WRITE_KEY, CSB_API_KEY: s.apiKey, CSB_BASE_URL: s.url, CSB_RELAY_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' },
      config: { delivery: fastDelivery }
    })

    const batch = [
      { type: 'identify', messageId: 'junk-identify', userId: 'undefined', anonymousId: 'anon-1', traits: { account_id: 'acc-1', name: 'Ada' } },
      { type: 'track', messageId: 'junk-track-1', userId: 'null', event: 'Clicked', properties: { account_id: 'acc-1' } },
      { type: 'track', messageId: 'junk-track-2', userId: '[object Object]', event: 'Clicked', properties: { account_id: 'acc-1' } },
      { type: 'identify', messageId: 'junk-fallback', userId: 'u-good', traits: { account_id: 'acc-1', user_id: 'undefined' } },
      { type: 'track', messageId: 'bad-time', userId: 'u-good', event: 'Late', timestamp: 'not a date', properties: { account_id: 'acc-1' } }
    ]
    expect(await post('/v1/batch', { batch })).toMatchObject({ status: 200, text: '{"success":true}' })
    expect((await post('/v1/track', { messageId: 'bad-sent', userId: 'u-good', event: 'Sent', sentAt: 'yesterday', properties: { account_id: 'acc-1' } })).status).toBe(200)
    expect((await post('/v1/webhook', { type: 'track', messageId: 'bad-webhook', userId: 'u-good', event: 'Hooked', timestamp: 'never', properties: { account_id: 'acc-1' } })).status).toBe(200)
    // A large batch goes to a parse thread: its repairs are counted there.
    const padding = 'p'.repeat(400)
    const big = Array.from({ length: 50 }, (_, i) => ({ type: 'track', messageId: `big-${i}`, userId: 'u-good', event: 'Big', timestamp: 'bad', properties: { account_id: 'acc-1', padding } }))
    expect(JSON.stringify({ batch: big }).length).toBeGreaterThan(16 * 1024)
    expect((await post('/v1/batch', { batch: big })).status).toBe(200)

    const done = await waitFor('every event finished', async () => {
      const events = await byMessageId()
      return events.size === 57 && [...events.values()].every((e) => e.status === 'delivered' || e.status === 'dead') ? events : undefined
    }, { timeoutMs: 30_000 })

    // Left without a user id: dead letters whose reason names the junk value.
    expect(done.get('junk-identify')).toMatchObject({ status: 'dead', lastError: expect.stringMatching(/^user_id has no usable id \(identifyUser.*userId was "undefined"/) })
    expect(done.get('junk-track-1')).toMatchObject({ status: 'dead', lastError: expect.stringContaining('userId was "null"') })
    expect(done.get('junk-track-2')).toMatchObject({ status: 'dead', lastError: expect.stringContaining('userId was "[object Object]"') })
    // A junk traits.user_id counts as absent: the mapping falls back to userId.
    expect(done.get('junk-fallback')?.status).toBe('delivered')
    for (const id of ['bad-time', 'bad-sent', 'bad-webhook', 'big-0', 'big-49']) expect(done.get(id)?.status, id).toBe('delivered')

    const users = accepted(s, '/api/v1_1/user').map((q) => (q.body as { user_id: string }).user_id)
    expect(users).toEqual(['u-good'])
    const everyUserId = s.requests().map((q) => (q.body as { user_id?: string }).user_id)
    for (const junk of ['undefined', 'null', '[object Object]']) expect(everyUserId).not.toContain(junk)

    // What was sent is kept beside the repair; junk-id events are on keys of their own.
    const badTime = await detail(done.get('bad-time')!.id)
    expect(badTime.samples.received.timestamp).toBe(badTime.samples.received.receivedAt)
    expect(badTime.samples.received.context).toEqual({ csbRelay: { invalidTimestamp: 'not a date' } })
    const junkIdentify = await detail(done.get('junk-identify')!.id)
    expect(junkIdentify.samples.received).not.toHaveProperty('userId')
    expect(junkIdentify.samples.received.context).toEqual({ csbRelay: { junkIds: { userId: 'undefined' } } })
    expect(junkIdentify.orderingKey).toBe('anon-1')
    const keys = await Promise.all(['junk-track-1', 'junk-track-2'].map(async (m) => (await detail(done.get(m)!.id)).orderingKey))
    expect(keys).toEqual(['no-id:junk-track-1', 'no-id:junk-track-2'])

    const metrics = parsePrometheus(await (await fetch(`${relay.url}/metrics`)).text())
    const counted = (name: string, label: string) =>
      Object.fromEntries((metrics.get(name)?.samples ?? []).map((sample) => [sample.labels[label], sample.value]))
    expect(counted('csb_relay_invalid_timestamps_total', 'field')).toEqual({ timestamp: 52, sentAt: 1 })
    expect(counted('csb_relay_junk_ids_total', 'path')).toEqual({ userId: 3, 'traits.user_id': 1 })
  }, 60_000)
})
