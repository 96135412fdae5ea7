import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from './config'
import { destinationNamesOf, parseConsent } from './config-privacy'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-config-privacy-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

function load(file: Record<string, unknown>) {
  const config = path.join(dir, `c-${Math.random().toString(36).slice(2)}.json`)
  fs.writeFileSync(config, JSON.stringify(file))
  return loadConfig({ argv: ['--config', config], env: {} })
}

describe('config "consent"', () => {
  it('is absent by default and read as destination → categories', () => {
    expect(load({}).consent).toBeUndefined()
    expect(load({ consent: { CustomerSuccessBox: ['analytics', 'analytics', 'ads'] } }).consent).toEqual({ CustomerSuccessBox: ['analytics', 'ads'] })
  })

  it('refuses a key that names no destination, listing the known ones', () => {
    expect(() => load({ consent: { CustomerSucessBox: ['analytics'] } })).toThrow(
      '"consent.CustomerSucessBox" names no destination; known: CustomerSuccessBox (names are case-sensitive)'
    )
  })

  it('refuses a value that is not a non-empty list of names, naming the entry', () => {
    expect(() => load({ consent: ['analytics'] })).toThrow(/"consent" must be an object of destination name → consent categories/)
    expect(() => load({ consent: { CustomerSuccessBox: 'analytics' } })).toThrow(/"consent.CustomerSuccessBox" must be a non-empty list of category names/)
    expect(() => load({ consent: { CustomerSuccessBox: [] } })).toThrow(/"consent.CustomerSuccessBox" must be a non-empty list/)
    expect(() => load({ consent: { CustomerSuccessBox: ['ok', 3] } })).toThrow(/got \["ok",3\]/)
  })

  it('knows the destinations a config declares beside CSB', () => {
    const names = destinationNamesOf([{ name: 'hooks' }, { name: '' }, null, { definition: 'x' }])
    expect(names).toEqual(['CustomerSuccessBox', 'hooks'])
    expect(parseConsent({ hooks: ['marketing'] }, names)).toEqual({ hooks: ['marketing'] })
    expect(() => parseConsent({ hookz: ['marketing'] }, names)).toThrow('known: CustomerSuccessBox, hooks')
  })
})
