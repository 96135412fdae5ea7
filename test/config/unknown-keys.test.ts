/**
 * `csb-relay start` with a config file holding a typo, as a user runs it (build first): the relay
 * does not start, exits 2, and names the key's path and the closest known key, at any depth.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/processes'
import { removeTempDirs, tempDir } from '../helpers/temp'

afterAll(removeTempDirs)

async function start(config: unknown) {
  const dir = tempDir()
  fs.writeFileSync(path.join(dir, 'relay.json'), JSON.stringify(config))
  const cli = runCli(['start', '--port', '0', '--config', path.join(dir, 'relay.json')], { env: { CSB_RELAY_DB: path.join(dir, 'relay.db') } })
  const exited = await cli.exited
  return { ...exited, stderr: cli.stderr(), stdout: cli.stdout() }
}

describe('unknown keys in the config file', () => {
  it.each([
    [{ sources: [{ name: 'web', writeKey: 'wk_1', sharedSecrt: 'x' }] }, 'sources[0].sharedSecrt', 'sharedSecret'],
    [{ sources: [{ name: 'web', writeKey: 'wk_1' }, { name: 'api', writeKey: 'wk_2', maxEventPerSecond: 5 }] }, 'sources[1].maxEventPerSecond', 'maxEventsPerSecond'],
    [{ csb: { apiKey: 'k', baseUrl: 'https://a.customersuccessbox.com', authSchema: 'basic' } }, 'csb.authSchema', 'authScheme'],
    [{ delivery: { retryWindow: 1000 } }, 'delivery.retryWindow', 'retryWindowMs'],
    [{ ingest: { maxEventByte: 1000 } }, 'ingest.maxEventByte', 'maxEventBytes'],
    [{ subscriptions: [{ subscribe: 'type = "track"', partnerAction: 'trackFeature', mappings: {} }] }, 'subscriptions[0].mappings', 'mapping'],
    [{ filters: [{ name: 'x', blok: ['traits.email'] }] }, 'filters[0].blok', 'block'],
    [{ logLevl: 'debug' }, 'logLevl', 'logLevel']
  ])('%j: exits 2 naming the path and the closest key', async (config, keyPath, closest) => {
    const result = await start(config)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('configuration error')
    expect(result.stderr).toContain(`unknown setting "${keyPath}"; did you mean "${closest}"?`)
    expect(result.stdout).not.toContain('listening on')
  })

  it('starts with every key spelled right, the rate limit included', async () => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, 'relay.json'), JSON.stringify({ sources: [{ name: 'web', writeKey: 'wk_1', maxEventsPerSecond: 50, burstEvents: 100 }], ingest: { maxBatchEvents: 100 } }))
    const cli = runCli(['start', '--port', '0', '--config', path.join(dir, 'relay.json')], { env: { CSB_RELAY_DB: path.join(dir, 'relay.db') } })
    await cli.waitForOutput(/listening on/)
    expect((await cli.stop()).code).toBe(0)
  })
})
