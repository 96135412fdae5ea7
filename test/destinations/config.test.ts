/** Destinations beside CSB are checked at start: each error names the destination, the field and the fix. */
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { parseDestinations } from '../../src/cli/destinations-config'
import type { DestinationConfig } from '../../src/delivery'
import { checkDestination, DestinationConfigError } from '../../src/delivery/destination-check'
import { DefinitionError, INSTALL_HINT, loadDefinition, refusal } from '../../src/delivery/definitions'
import { tempDir } from '../helpers/temp'

const hook = (over: Partial<DestinationConfig> = {}): DestinationConfig => ({
  name: 'hooks',
  definition: 'webhook',
  settings: {},
  subscriptions: [{ name: 'all', subscribe: 'type = "track"', partnerAction: 'send', mapping: { url: 'https://example.com/hook', data: { '@path': '$.' } } }],
  ...over
})

function problem(config: DestinationConfig, cwd = process.cwd()): string {
  try {
    checkDestination(config, cwd)
  } catch (err) {
    expect(err).toBeInstanceOf(DestinationConfigError)
    return (err as Error).message
  }
  throw new Error('expected a DestinationConfigError')
}

describe('destinations config', () => {
  it('loads the webhook definition by folder and by slug, filling field defaults into mappings', () => {
    for (const definition of ['webhook', 'actions-webhook']) {
      const checked = checkDestination(hook({ definition }), process.cwd())
      expect(checked.definition.name).toBe('Webhook')
      expect(checked.subscriptions[0].mapping.method).toBe('POST')
    }
  })

  it('refuses the built-in name, a reused name and an unknown key', () => {
    expect(() => parseDestinations([{ name: 'CustomerSuccessBox', definition: 'webhook' }])).toThrow(/built-in destination.*choose another name/)
    expect(() => parseDestinations([{ name: 'a', definition: 'webhook' }, { name: 'a', definition: 'webhook' }])).toThrow(/used twice/)
    expect(() => parseDestinations([{ name: 'a', definition: 'webhook', setings: {} }])).toThrow(/unknown setting "destinations\[0\]\.setings"/)
  })

  it('names an unknown definition and how to name one', () => {
    expect(problem(hook({ definition: 'no-such-thing' }))).toMatch(/destination "hooks".*"no-such-thing".*folder name such as "webhook"/)
  })

  it('checks settings against the definition: unknown field, wrong type', () => {
    expect(problem(hook({ settings: { secret: 'x' } }))).toMatch(/destination "hooks": unknown setting "settings\.secret".*known: sharedSecret/)
    expect(problem(hook({ settings: { sharedSecret: { nested: true } } }))).toMatch(/destination "hooks": invalid "settings".*sharedSecret/)
  })

  it('checks mappings: a literal value against its field, a missing required field, an unknown action', () => {
    const bad = (mapping: Record<string, unknown>) => hook({ subscriptions: [{ name: 'all', subscribe: 'type = "track"', partnerAction: 'send', mapping }] })
    expect(problem(bad({ url: 'https://example.com', method: 'DELETE' }))).toMatch(/subscription "all": invalid mapping: .*method/i)
    expect(problem(bad({ data: { '@path': '$.' } }))).toMatch(/subscription "all": the mapping lacks "url"/)
    expect(problem(hook({ subscriptions: [{ subscribe: 'type = "track"', partnerAction: 'post', mapping: {} }] }))).toMatch(/unknown partnerAction "post".*send/)
  })

  it('refuses OAuth and browser destinations with the reason', () => {
    expect(problem(hook({ definition: 'actions-pardot', settings: {} }))).toMatch(/cannot run .*OAuth/)
    expect(refusal({ name: 'X', mode: 'device', actions: { a: { perform: () => {} } } })).toMatch(/browser/)
  })

  it('loads an in-house definition from a path', () => {
    const dir = tempDir()
    const file = path.join(dir, 'inhouse.js')
    fs.writeFileSync(file, `module.exports = { name: 'In House', actions: { ping: { title: 'Ping', description: 'p', fields: {}, perform: () => null } }, presets: [{ name: 'pings', subscribe: 'type = "track"', partnerAction: 'ping', mapping: {}, type: 'automatic' }] }`)
    const checked = checkDestination({ name: 'mine', definition: './inhouse.js', settings: {} }, dir)
    expect(checked.definition.name).toBe('In House')
    expect(checked.subscriptions.map((s) => s.name)).toEqual(['pings'])
  })

  it('names the npm command when @segment/action-destinations is not installed, and needs it only for its definitions', () => {
    const bare = tempDir('csb-no-catalog-')
    expect(() => loadDefinition('webhook', bare, [bare])).toThrow(DefinitionError)
    expect(() => loadDefinition('webhook', bare, [bare])).toThrow(`is not installed; install it with: ${INSTALL_HINT}`)
    expect(INSTALL_HINT).toBe('npm install @segment/action-destinations@3.497.0')
    // An in-house definition loads without the package.
    const file = path.join(bare, 'audit.js')
    fs.writeFileSync(file, "module.exports = { name: 'Audit', actions: { record: { title: 'R', fields: {}, perform: () => undefined } } }")
    expect(loadDefinition('./audit.js', bare, [bare]).name).toBe('Audit')
  })

  it('csb-relay start exits 2 naming the destination, the field and the fix', () => {
    const dir = tempDir()
    const file = path.join(dir, 'config.json')
    fs.writeFileSync(file, JSON.stringify({ destinations: [hook({ settings: { sharedSecret: { nested: true } } })] }))
    const run = spawnSync(process.execPath, ['bin/csb-relay.js', 'start', '--config', file, '--port', '0', '--db', path.join(dir, 'r.db')], { encoding: 'utf8', timeout: 30_000 })
    expect(run.status).toBe(2)
    expect(run.stderr).toMatch(/configuration error: destination "hooks": invalid "settings".*sharedSecret/)
  }, 40_000)
})
