import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { INTEGRATION_NAMES } from '../../src/destination'

const ROOT = path.resolve(__dirname, '../..')

describe('csb-relay/destination from another project', () => {
  it('loads with require() from the compiled dist/ and validates settings', () => {
    const compiled = path.join(ROOT, 'dist/destination/index.js')
    expect(fs.existsSync(compiled), 'dist/destination/index.js is missing: run `npx tsc -p tsconfig.build.json` first').toBe(true)
    const script = `
      const mod = require('csb-relay/destination')
      const { Destination } = require('@segment/actions-core')
      const d = new Destination(mod.default)
      d.validateSettings({ apiKey: 'k', baseUrl: 'https://acme.customersuccessbox.com' })
      console.log(JSON.stringify({
        resolved: require.resolve('csb-relay/destination'),
        same: mod.default === mod.destination,
        name: mod.destination.name,
        names: mod.INTEGRATION_NAMES,
        actions: Object.keys(mod.destination.actions)
      }))`
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })) as Record<string, unknown>
    expect(out).toStrictEqual({
      resolved: compiled,
      same: true,
      name: 'CustomerSuccessBox',
      names: [...INTEGRATION_NAMES],
      actions: ['identifyUser', 'upsertAccount', 'trackFeature', 'trackPage', 'syncAudience']
    })
  })
})
