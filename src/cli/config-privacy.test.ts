import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from '../../test/helpers/temp'
import { loadConfig } from './config'
import { destinationNamesOf, parseConsent } from './config-privacy'

const dir = tempDir('csb-config-privacy-')
afterAll(removeTempDirs)

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

describe('config store retention', () => {
  const DAY = 24 * 3_600_000
  it('keeps finished events 7 days and dead letters 30 by default', () => {
    expect(load({}).store).toMatchObject({ retentionDays: 7, deadLetterRetentionDays: 30, retentionMs: 7 * DAY, deadLetterRetentionMs: 30 * DAY })
  })

  it('reads store.retentionDays and store.deadLetterRetentionDays', () => {
    expect(load({ store: { retentionDays: 2, deadLetterRetentionDays: 90 } }).store).toMatchObject({ retentionMs: 2 * DAY, deadLetterRetentionMs: 90 * DAY })
    expect(() => load({ store: { retentionDays: -1 } })).toThrow('"store.retentionDays" must be an integer >= 0, got -1')
    expect(() => load({ store: { deadLetterRetentionDays: 'x' } })).toThrow('"store.deadLetterRetentionDays" must be an integer >= 0')
  })

  it('keeps store.retentionMs working, and refuses it beside store.retentionDays', () => {
    expect(load({ store: { retentionMs: 3_600_000 } }).store).toMatchObject({ retentionMs: 3_600_000, retentionDays: 1 / 24, deadLetterRetentionMs: 30 * DAY })
    expect(() => load({ store: { retentionMs: 1, retentionDays: 1 } })).toThrow('"store.retentionMs" and "store.retentionDays" are both set')
    expect(() => load({ store: { retentionMs: -5 } })).toThrow('"store.retentionMs" must be an integer >= 0')
    expect(() => load({ store: { retentionDay: 3 } })).toThrow(/did you mean "retentionDays"/)
  })

  it('reads store.deadLetterRetentionMs, and refuses it beside store.deadLetterRetentionDays', () => {
    expect(load({ store: { deadLetterRetentionMs: 7_200_000 } }).store).toMatchObject({ deadLetterRetentionMs: 7_200_000, deadLetterRetentionDays: 1 / 12, retentionMs: 7 * DAY })
    expect(() => load({ store: { deadLetterRetentionMs: 1, deadLetterRetentionDays: 1 } })).toThrow(
      '"store.deadLetterRetentionMs" and "store.deadLetterRetentionDays" are both set: keep one'
    )
    expect(() => load({ store: { deadLetterRetentionMs: 1.5 } })).toThrow('"store.deadLetterRetentionMs" must be an integer >= 0, got 1.5')
  })

  it('prunes hourly by default; store.pruneIntervalMs changes it, down to a second', () => {
    expect(load({}).store.pruneIntervalMs).toBe(3_600_000)
    expect(load({ store: { pruneIntervalMs: 5000 } }).store.pruneIntervalMs).toBe(5000)
    expect(() => load({ store: { pruneIntervalMs: 10 } })).toThrow(
      '"store.pruneIntervalMs" must be at least 1000 (milliseconds between prunes; the default, 3600000, prunes hourly), got 10'
    )
    expect(() => load({ store: { pruneIntervalMs: 'hourly' } })).toThrow('"store.pruneIntervalMs" must be an integer >= 0, got "hourly"')
    expect(() => load({ store: { pruneInterval: 5000 } })).toThrow(/did you mean "pruneIntervalMs"/)
  })
})
