/** Destinations beside CSB are checked at start: each error names the destination, the field and the fix. */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from '../../test/helpers/temp'
import { checkDestination, DestinationConfigError } from './destination-check'
import type { DestinationConfig } from './types'

afterAll(removeTempDirs)

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

describe('checkDestination', () => {
  it('loads the webhook definition by folder and by slug, filling field defaults into mappings', () => {
    for (const definition of ['webhook', 'actions-webhook']) {
      const checked = checkDestination(hook({ definition }), process.cwd())
      expect(checked.definition.name).toBe('Webhook')
      expect(checked.subscriptions[0].mapping.method).toBe('POST')
    }
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

  it('refuses OAuth destinations with the reason', () => {
    expect(problem(hook({ definition: 'actions-pardot', settings: {} }))).toMatch(/cannot run .*OAuth/)
  })

  it('loads an in-house definition from a path', () => {
    const dir = tempDir()
    const file = path.join(dir, 'inhouse.js')
    fs.writeFileSync(file, `module.exports = { name: 'In House', actions: { ping: { title: 'Ping', description: 'p', fields: {}, perform: () => null } }, presets: [{ name: 'pings', subscribe: 'type = "track"', partnerAction: 'ping', mapping: {}, type: 'automatic' }] }`)
    const checked = checkDestination({ name: 'mine', definition: './inhouse.js', settings: {} }, dir)
    expect(checked.definition.name).toBe('In House')
    expect(checked.subscriptions.map((s) => s.name)).toEqual(['pings'])
  })
})
