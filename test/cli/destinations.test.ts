/**
 * `csb-relay status` and `csb-relay dlq list/replay --destination NAME` (the built CLI) against a
 * relay delivering to CSB (the sandbox) and to Segment's webhook definition (a loopback server
 * refusing everything with 400, so its events are dead letters while CSB's are delivered).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Relay } from '../../src/cli/relay'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { startHookServer, type HookServer } from '../helpers/webhook-server'
import { runCli } from '../helpers/processes'
import { post, startTestRelay } from '../helpers/relay'
import { removeTempDirs } from '../helpers/temp'
import { waitFor } from '../helpers/wait'

const TOKEN = 'cli-destinations-token-42'
let sandbox: Sandbox
let hook: HookServer
let relay: Relay

async function cli(args: string[]) {
  const p = runCli([...args, '--url', relay.url, '--token', TOKEN], { env: {} })
  const { code } = await p.exited
  return { code, stdout: p.stdout(), stderr: p.stderr() }
}

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 })
  hook = await startHookServer()
  hook.answer = 400
  relay = await startTestRelay({
    env: { CSB_API_KEY: sandbox.apiKey, CSB_BASE_URL: sandbox.url, CSB_RELAY_ADMIN_TOKEN: TOKEN },
    configFile: {
      delivery: { pollIntervalMs: 10 },
      destinations: [{
        name: 'hooks', definition: 'webhook', settings: {},
        subscriptions: [{ name: 'tracks', partnerAction: 'send', subscribe: 'type = "track"', mapping: { url: `${hook.url}/in`, method: 'POST', data: { '@path': '$.' } } }]
      }]
    }
  })
  await post(relay, '/v1/batch', {
    batch: [1, 2, 3].map((i) => ({ type: 'track', userId: `u-${i}`, event: `Used ${i}`, properties: { account_id: 'acme' } }))
  })
  await waitFor('CSB delivering three events, the webhook dead-lettering three', async () => {
    const c = (await relay.store.counts()).byDestination
    return c.CustomerSuccessBox?.delivered === 3 && c.hooks?.dead === 3
  }, { timeoutMs: 20_000 })
}, 40_000)

afterAll(async () => {
  await relay?.close()
  await hook?.close()
  await sandbox?.close()
  removeTempDirs()
})

describe('the CLI per destination', () => {
  it('keeps each destination\'s dead letters with their own samples and reason', async () => {
    const [dead] = await relay.store.list({ status: 'dead', destination: 'hooks', limit: 1 })
    expect(dead!.destination).toBe('hooks')
    expect(dead!.action).toBe('send')
    expect(dead!.lastStatus).toBe(400)
    expect(JSON.stringify(dead!.samples?.request)).toContain(`${hook.url}/in`)
    expect(dead!.samples?.response).toMatchObject({ status: 400 })
    // The same event's CSB row was delivered, with CSB's request as its sample.
    const [csb] = await relay.store.list({ status: 'delivered', destination: 'CustomerSuccessBox', limit: 1 })
    expect(JSON.stringify(csb!.samples?.request)).toContain('/api/v1_1/')
  })

  it('status shows a line per destination, and one destination alone with --destination', async () => {
    const all = await cli(['status'])
    expect(all.code).toBe(0)
    expect(all.stdout).toMatch(/Destinations:\n\s+CustomerSuccessBox\s+backlog 0 .*delivered 3\s+dead 0/)
    expect(all.stdout).toMatch(/\n\s+hooks\s+backlog 0 .*delivered 0\s+dead 3/)
    expect(all.stdout).toMatch(/\[hooks\] .*400/)
    const hooks = await cli(['status', '--destination', 'hooks'])
    expect(hooks.stdout).toMatch(/destination hooks/)
    expect(hooks.stdout).toMatch(/Dead letters stored: 3/)
    const csb = JSON.parse((await cli(['status', '--destination', 'CustomerSuccessBox', '--json'])).stdout)
    expect(csb.stored).toEqual({ delivered: 3, dead: 0, skipped: 0 })
    const typo = await cli(['status', '--destination', 'hook'])
    expect(typo.code).not.toBe(0)
    expect(typo.stderr).toContain('unknown destination "hook"; known: CustomerSuccessBox, hooks')
  })

  it('dlq list and replay take --destination', async () => {
    const csb = await cli(['dlq', 'list', '--destination', 'CustomerSuccessBox'])
    expect(csb.stdout).toContain('No dead letters of CustomerSuccessBox.')
    const listed = JSON.parse((await cli(['dlq', 'list', '--destination', 'hooks', '--json'])).stdout) as Array<{ destination: string }>
    expect(listed).toHaveLength(3)
    expect(listed.every((e) => e.destination === 'hooks')).toBe(true)
    const table = await cli(['dlq', 'list', '--destination', 'hooks'])
    expect(table.stdout).toMatch(/DESTINATION/)
    expect((await cli(['dlq', 'replay', '--all', '--destination', 'CustomerSuccessBox'])).stdout).toContain('Replayed 0 dead letter(s) of CustomerSuccessBox')
    hook.answer = 200
    const replay = await cli(['dlq', 'replay', '--all', '--destination', 'hooks'])
    expect(replay.stdout).toContain('Replayed 3 dead letter(s) of hooks')
    await waitFor('the replayed webhook events delivered', async () => (await relay.store.counts()).byDestination.hooks.delivered === 3, { timeoutMs: 20_000 })
    expect((await relay.store.counts()).byDestination.CustomerSuccessBox.delivered).toBe(3)
    expect(sandbox.requests().filter((r) => r.status < 300).length).toBeGreaterThanOrEqual(3)
  })
})
