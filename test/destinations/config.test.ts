/**
 * A destination's config error stops the built relay at start: exit 2, naming the destination,
 * the field and the fix (the checks themselves: src/delivery/destination-check.test.ts).
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runToExit } from '../helpers/processes'
import { removeTempDirs, tempDir } from '../helpers/temp'

afterAll(removeTempDirs)

describe('destinations config', () => {
  it('csb-relay start exits 2 naming the destination, the field and the fix', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'config.json')
    const hooks = {
      name: 'hooks',
      definition: 'webhook',
      settings: { sharedSecret: { nested: true } },
      subscriptions: [{ name: 'all', subscribe: 'type = "track"', partnerAction: 'send', mapping: { url: 'https://example.com/hook', data: { '@path': '$.' } } }]
    }
    fs.writeFileSync(file, JSON.stringify({ destinations: [hooks] }))
    const run = await runToExit(['start', '--config', file, '--port', '0', '--db', path.join(dir, 'r.db')])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/configuration error: destination "hooks": invalid "settings".*sharedSecret/)
  }, 40_000)
})
