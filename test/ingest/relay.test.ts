/**
 * The relay in-process with its real SQLite store: dedupe, the generated write key across
 * restarts, configuration precedence, readiness.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import type { Relay } from '../../src/cli/relay'
import { basicAuth } from '../helpers/http'
import { post, startTestRelay } from '../helpers/relay'
import { removeTempDirs, tempDir } from '../helpers/temp'

const running: Relay[] = []
async function start(options: Parameters<typeof startTestRelay>[0] = {}) {
  const relay = await startTestRelay(options)
  running.push(relay)
  return relay
}
afterEach(async () => { for (const r of running.splice(0)) await r.close() })
afterAll(removeTempDirs)

describe('dedupe', () => {
  it('acknowledges a messageId seen again and stores it once', async () => {
    const relay = await start()
    const event = { userId: 'u', event: 'Paid', messageId: 'dup-1' }
    expect((await post(relay, '/v1/track', event)).status).toBe(200)
    expect((await post(relay, '/v1/track', { ...event, properties: { again: true } })).status).toBe(200)
    expect((await post(relay, '/v1/batch', { batch: [{ ...event, type: 'track' }, { ...event, type: 'track' }] })).status).toBe(200)
    const stored = (await relay.store.list({ limit: 100 })).filter((e) => e.messageId === 'dup-1')
    expect(stored).toHaveLength(1)
    expect(stored[0]!.event.properties).toBeUndefined()
  })
})

describe('the generated write key', () => {
  it('is generated on first start, kept in the store, and the same after a restart', async () => {
    const db = path.join(tempDir(), 'relay.db')
    const first = await start({ db, env: { CSB_RELAY_WRITE_KEYS: '' } })
    const generated = first.writeKeys.generated!
    expect(generated.createdNow).toBe(true)
    expect((await post(first, '/v1/identify', { userId: 'u' }, { authorization: basicAuth(generated.writeKey) })).status).toBe(200)
    await first.close()

    const second = await start({ db, env: { CSB_RELAY_WRITE_KEYS: '' } })
    expect(second.writeKeys.generated).toEqual({ writeKey: generated.writeKey, createdNow: false })
    expect((await post(second, '/v1/identify', { userId: 'u' }, { authorization: basicAuth(generated.writeKey) })).status).toBe(200)
    expect((await post(second, '/v1/identify', { userId: 'u' }, { authorization: basicAuth('wk_other') })).status).toBe(401)
  })
})

describe('configuration precedence', () => {
  it('takes --db over CSB_RELAY_DB over the config file, and limits from the config file', async () => {
    const dir = tempDir()
    const fileDb = path.join(dir, 'file.db')
    const envDb = path.join(dir, 'env.db')
    const configFile = { db: fileDb, ingest: { maxBatchEvents: 2 }, sources: [{ name: 'from-file', writeKey: 'wk_file' }] }

    const flagged = await start({ db: path.join(dir, 'flag.db'), env: { CSB_RELAY_DB: envDb }, configFile })
    expect(flagged.config.db).toBe(path.join(dir, 'flag.db'))
    await flagged.close()

    // No --db flag: the store is the one CSB_RELAY_DB names.
    const fromEnv = await start({ db: null, env: { CSB_RELAY_DB: envDb, CSB_RELAY_WRITE_KEYS: 'wk_env' }, configFile })
    expect(fromEnv.config.db).toBe(envDb)
    expect(fs.existsSync(envDb)).toBe(true)
    expect(fs.existsSync(fileDb)).toBe(false)
    // Both the file's source and the environment's key are accepted; each records its name.
    const batch = { batch: [{ type: 'identify', userId: 'a' }, { type: 'identify', userId: 'b' }] }
    expect((await post(fromEnv, '/v1/batch', batch, { authorization: basicAuth('wk_file') })).status).toBe(200)
    const tooMany = await post(fromEnv, '/v1/batch', { batch: [...batch.batch, { type: 'identify', userId: 'c' }] }, { authorization: basicAuth('wk_env') })
    expect(tooMany).toMatchObject({ status: 400, body: { error: 'batch has 3 events; at most 2 are accepted per request' } })
    expect((await fromEnv.store.list({ limit: 10 })).map((e) => e.source)).toEqual(['from-file', 'from-file'])
  })
})

describe('backpressure', () => {
  it('answers 429 with Retry-After once the backlog of held events is over maxBacklog, and stores nothing more', async () => {
    // CSB is not configured, so every accepted event stays in the backlog.
    const relay = await start({ configFile: { ingest: { maxBacklog: 5, backpressureRetryAfterSeconds: 3 } } })
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) statuses.push((await post(relay, '/v1/identify', { userId: `u${i}`, messageId: `bp-${i}` })).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429])
    const refused = await post(relay, '/v1/identify', { userId: 'late' })
    expect(refused.headers.get('retry-after')).toBe('3')
    expect(refused.body.error).toBe('backlog is over 5 unfinished events; retry after 3 s')
    expect(await relay.store.list({ limit: 100 })).toHaveLength(6)
  })
})

describe('readiness', () => {
  it('says events are held while CSB is not configured, with the engine and backlog', async () => {
    const relay = await start()
    await post(relay, '/v1/identify', { userId: 'u' })
    const res = await fetch(`${relay.url}/readyz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      ready: true,
      engine: 'sqlite',
      backlog: 1,
      csbConfigured: false,
      csb: 'CSB not configured: events are accepted and held until CSB_API_KEY and CSB_BASE_URL are set (or PUT /api/csb)'
    })
    expect(await (await fetch(`${relay.url}/healthz`)).json()).toEqual({ ok: true })
  })

  it('answers 503 when the store does not answer', async () => {
    const relay = await start()
    await relay.store.close()
    const res = await fetch(`${relay.url}/readyz`)
    expect(res.status).toBe(503)
    expect((await res.json()).ready).toBe(false)
  })
})
