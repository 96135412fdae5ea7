/**
 * The operator commands as a user runs them (the built CLI): status, dlq list / replay, send,
 * and --help, against a running relay with an admin token and the CSB sandbox.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { Relay } from '../../src/cli/relay'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { runToExit } from '../helpers/processes'
import { post, startTestRelay, TEST_WRITE_KEY } from '../helpers/relay'
import { removeTempDirs } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

const API_KEY = 'csb_cli_test_key_0123456789'
const TOKEN = 'cli-admin-token-123'

const cli = (args: string[], env: Record<string, string> = {}) => runToExit(args, { env })

interface Running {
  sandbox: Sandbox
  relay: Relay
}
const running: Running[] = []
afterEach(async () => {
  for (const { relay, sandbox } of running.splice(0)) {
    await relay.close()
    await sandbox.close()
  }
})
afterAll(removeTempDirs)

/** A sandbox and a relay with an admin token delivering to it; each test starts its own. */
async function start(): Promise<Running> {
  const sandbox = await startSandbox({ port: 0, apiKey: API_KEY })
  const relay = await startTestRelay({ env: { CSB_API_KEY: API_KEY, CSB_BASE_URL: sandbox.url, CSB_RELAY_ADMIN_TOKEN: TOKEN } })
  running.push({ sandbox, relay })
  return { sandbox, relay }
}

/** start(), then two events CSB refuses (missing account_id: dead letters at once) and one it takes, all settled. */
async function startSeeded(): Promise<Running> {
  const started = await start()
  const { relay } = started
  await post(relay, '/v1/batch', {
    batch: [
      { type: 'track', userId: 'u-1', event: 'Orphan A' },
      { type: 'track', userId: 'u-2', event: 'Orphan B' },
      { type: 'track', userId: 'u-3', event: 'Fine', properties: { account_id: 'acme' } }
    ]
  })
  await waitFor('two dead letters and one delivery', async () => {
    const c = await relay.store.counts()
    return c.dead === 2 && c.delivered === 1
  }, { timeoutMs: 20_000 })
  return started
}

const withToken = (relay: Relay, args: string[]) => [...args, '--url', relay.url, '--token', TOKEN]

describe('csb-relay status', () => {
  it('prints backlog, rates, latency and recent errors with a fix', async () => {
    const { relay } = await startSeeded()
    const r = await cli(withToken(relay, ['status']))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`csb-relay at ${relay.url} (sqlite store), last 1h`)
    expect(r.stdout).toMatch(/Backlog: +0 \(pending 0, retrying 0, in flight 0\); nothing waiting/)
    expect(r.stdout).toMatch(/Delivered: 1 \([\d.]+\/min\) +retries: 0 +dead-lettered: 2/)
    expect(r.stdout).toMatch(/Latency: +p95 \d/)
    expect(r.stdout).toMatch(/dead +2 +PayloadValidationError: account_id is missing/)
    expect(r.stdout).toMatch(/fix: Send traits\.account_id/)
    const json = JSON.parse((await cli(withToken(relay, ['status', '--json', '--period', '24h']))).stdout)
    expect(json).toMatchObject({ period: '24h', totals: { delivered: 1, dead: 2 } })
  })

  it('finds the relay from PORT and HOST, and the token from CSB_RELAY_ADMIN_TOKEN', async () => {
    const { relay } = await startSeeded()
    const { port } = new URL(relay.url)
    const r = await cli(['status'], { PORT: port, HOST: '127.0.0.1', CSB_RELAY_ADMIN_TOKEN: TOKEN })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('Delivered: 1')
  })

  it('says what is wrong without the token, or when no relay answers', async () => {
    const { relay } = await start()
    const noToken = await cli(['status', '--url', relay.url])
    expect(noToken.code).toBe(1)
    expect(noToken.stderr).toMatch(/admin token: pass --token or set CSB_RELAY_ADMIN_TOKEN/)
    const nobody = await cli(['status', '--url', 'http://127.0.0.1:9'])
    expect(nobody.code).toBe(1)
    expect(nobody.stderr).toMatch(/cannot reach the relay at http:\/\/127\.0\.0\.1:9 .*is it running/)
    const bad = await cli(['status', '--bogus'])
    expect(bad.code).toBe(2)
  })
})

describe('csb-relay dlq', () => {
  it('lists dead letters as a table and as JSON', async () => {
    const { relay } = await startSeeded()
    const r = await cli(withToken(relay, ['dlq', 'list']))
    expect(r.code, r.stderr).toBe(0)
    const [header, ...rows] = r.stdout.trim().split('\n')
    expect(header).toMatch(/^ID +DESTINATION +DEAD SINCE \(UTC\) +TYPE +EVENT \/ USER +ACTION +HTTP +TRIES +REASON$/)
    expect(rows.filter((l) => /Orphan [AB] \/ u-[12]/.test(l))).toHaveLength(2)
    expect(r.stdout).toMatch(/2 dead letter\(s\)\. Replay: csb-relay dlq replay/)
    const json = JSON.parse((await cli(withToken(relay, ['dlq', 'list', '--json', '--reason', 'account_id']))).stdout)
    expect(json.map((e: { name: string }) => e.name).sort()).toEqual(['Orphan A', 'Orphan B'])
    expect((await cli(withToken(relay, ['dlq', 'list', '--reason', 'no such reason']))).stdout).toMatch(/No dead letters with a reason containing/)
  })

  it('replays by id, by reason and all, and refuses an unclear request', async () => {
    const { relay } = await startSeeded()
    expect((await cli(withToken(relay, ['dlq', 'replay']))).code).toBe(2)
    expect((await cli(withToken(relay, ['dlq', 'replay', '1', '--all']))).code).toBe(2)
    expect((await cli(withToken(relay, ['dlq', 'frobnicate']))).code).toBe(2)

    const dead = JSON.parse((await cli(withToken(relay, ['dlq', 'list', '--json']))).stdout) as Array<{ id: string; name: string }>
    const a = dead.find((e) => e.name === 'Orphan A')!
    const one = await cli(withToken(relay, ['dlq', 'replay', a.id]))
    expect(one.code, one.stderr).toBe(0)
    expect(one.stdout).toMatch(/Replayed 1 dead letter\(s\) of 1 requested/)
    // Still missing its account: it comes back as a dead letter.
    await waitFor('replayed event settled', async () => (await relay.store.get(a.id))?.status === 'dead' && (await relay.store.get(a.id))!.attempts >= 1)

    const unknown = await cli(withToken(relay, ['dlq', 'replay', '999999']))
    expect(unknown.code).toBe(1)
    expect(unknown.stdout).toMatch(/Replayed 0/)

    const byReason = await cli(withToken(relay, ['dlq', 'replay', '--reason', 'account_id']))
    expect(byReason.stdout).toMatch(/Replayed 2 dead letter\(s\) with a reason containing "account_id"/)
    await waitFor('dead letters back', async () => (await relay.store.counts()).dead === 2)
    const all = await cli(withToken(relay, ['dlq', 'replay', '--all']))
    expect(all.stdout).toMatch(/Replayed 2 dead letter\(s\)/)
  })
})

describe('csb-relay send', () => {
  it('sends one test event through the tracking API, and it reaches CSB', async () => {
    const { relay, sandbox } = await start()
    const r = await cli(['send', '--url', relay.url, '--write-key', TEST_WRITE_KEY, '--type', 'track', '--user-id', 'cli-user', '--account-id', 'acme', '--event', 'CLI Check', '--properties', '{"module_id":"cli"}'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^Sent track "CLI Check" messageId=[0-9a-f-]{36} to http:\/\/127\.0\.0\.1:\d+\/v1\/track: 200 \{"success":true\}/)
    await waitFor('the test event at CSB', () => sandbox.requests({ path: '/api/v1_1/feature' }).find((q) => (q.body as { feature_id: string }).feature_id === 'CLI Check'))

    const identify = await cli(['send', '--url', relay.url, '--type', 'identify', '--user-id', 'cli-user', '--account-id', 'acme', '--traits', '{"email":"c@acme.test"}'], { CSB_RELAY_WRITE_KEYS: `${TEST_WRITE_KEY},other` })
    expect(identify.code, identify.stderr).toBe(0)
    await waitFor('the identify at CSB', () => sandbox.requests({ path: '/api/v1_1/user' }).find((q) => (q.body as { email?: string }).email === 'c@acme.test'))
  })

  it('explains a missing or refused write key and bad options', async () => {
    const { relay } = await start()
    expect((await cli(['send', '--url', relay.url])).stderr).toMatch(/no write key: pass --write-key or set CSB_RELAY_WRITE_KEYS/)
    const refused = await cli(['send', '--url', relay.url, '--write-key', 'wrong-key'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/answered 401/)
    expect((await cli(['send', '--write-key', 'k', '--type', 'nope'])).code).toBe(2)
    expect((await cli(['send', '--write-key', 'k', '--properties', '{bad'])).stderr).toMatch(/--properties is not valid JSON/)
  })
})

describe('csb-relay names', () => {
  it('lists the feature and module names sent to CSB, in the order first sent, with the count and the limit', async () => {
    // "Fine" (the seed), then "CLI Check" with module "cli".
    const { relay, sandbox } = await startSeeded()
    expect((await post(relay, '/v1/track', { userId: 'cli-user', event: 'CLI Check', properties: { account_id: 'acme', module_id: 'cli' } })).status).toBe(200)
    await waitFor('"CLI Check" at CSB', () => sandbox.requests({ path: '/api/v1_1/feature' }).find((q) => (q.body as { feature_id: string }).feature_id === 'CLI Check'))
    const r = await cli(withToken(relay, ['names']))
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    const features = lines.indexOf('features sent to CSB: 2 of 256 (delivery.maxDistinctFeatures)')
    expect(features, r.stdout).toBeGreaterThanOrEqual(0)
    expect(lines.slice(features + 1, features + 3)).toEqual(['  Fine', '  CLI Check'])
    expect(r.stdout).toMatch(/^modules sent to CSB: 2 of 256 \(delivery\.maxDistinctModules\)$/m)
    expect(r.stdout).toMatch(/^  Default Module\n  cli$/m)
    const json = JSON.parse((await cli(withToken(relay, ['names', '--json']))).stdout)
    expect(json.feature).toEqual({ count: 2, limit: 256, names: ['Fine', 'CLI Check'] })
    expect(json.module.count).toBe(2)
    expect((await cli(['names', '--url', relay.url])).stderr).toMatch(/csb-relay names: .*token/i)
  })
})

describe('--help', () => {
  it('each operator command explains itself', async () => {
    for (const [command, expected] of [['status', /Usage: csb-relay status/], ['dlq', /csb-relay dlq replay --all/], ['send', /Usage: csb-relay send/], ['import', /Usage: csb-relay import FILE/], ['names', /Usage: csb-relay names/]] as const) {
      const r = await cli([command, '--help'])
      expect(r.code, command).toBe(0)
      expect(r.stdout).toMatch(expected)
    }
  })
})
