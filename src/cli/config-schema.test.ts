import { describe, expect, it } from 'vitest'
import { closestKey, configSchema, editDistance, findUnknownKey, list, map, object, value, values } from './config-schema'

const schema = configSchema({ ingest: { maxEventBytes: 1, maxBatchEvents: 2 }, delivery: { maxConcurrency: 1 }, store: { retentionMs: 1 } })

describe('findUnknownKey', () => {
  it('accepts a file whose every key is known, at every depth', () => {
    const file = {
      port: 1,
      sources: [{ name: 'web', writeKey: 'k', sharedSecret: 's', maxEventsPerSecond: 10, burstEvents: 20 }],
      csb: { apiKey: 'a', baseUrl: 'b', authScheme: 'bearer', defaultProductId: 'p', defaultModuleId: 'm', prefixCustomTraits: true },
      subscriptions: [{ name: 'n', subscribe: 'type = "track"', partnerAction: 'trackFeature', mapping: { anyField: { '@path': '$.x' } } }],
      filters: [{ name: 'f', drop: 'x = 1' }, { block: ['traits.email'], if: 'type = "identify"' }],
      ingest: { maxEventBytes: 5 },
      delivery: { maxConcurrency: 2 },
      store: { retentionMs: 3 }
    }
    expect(findUnknownKey(file, schema)).toBeUndefined()
  })

  it.each([
    [{ sources: [{ writeKey: 'k' }, { writeKey: 'k', sharedSecrt: 's' }] }, 'sources[1].sharedSecrt', 'sharedSecret'],
    [{ sources: [{ writeKey: 'k', maxEventsPerSec: 5 }] }, 'sources[0].maxEventsPerSec', 'maxEventsPerSecond'],
    [{ csb: { apiKey: 'a', baseURL: 'b' } }, 'csb.baseURL', 'baseUrl'],
    [{ ingest: { maxBatch: 3 } }, 'ingest.maxBatch', 'maxBatchEvents'],
    [{ delivery: { maxConcurency: 3 } }, 'delivery.maxConcurency', 'maxConcurrency'],
    [{ store: { retentionMS: 3 } }, 'store.retentionMS', 'retentionMs'],
    [{ subscriptions: [{ subscribe: 'x', partnerAction: 'y', maping: {} }] }, 'subscriptions[0].maping', 'mapping'],
    [{ filters: [{ drop: 'x = 1' }, { dorp: 'x = 1' }] }, 'filters[1].dorp', 'drop'],
    [{ logLevle: 'debug' }, 'logLevle', 'logLevel']
  ])('names the path and the closest known key of %j', (file, path, closest) => {
    const found = findUnknownKey(file, schema)
    expect(found?.path).toBe(path)
    expect(found?.message).toContain(`unknown setting "${path}"`)
    expect(found?.message).toContain(`did you mean "${closest}"?`)
  })

  it('lists the keys known where the unknown one is', () => {
    expect(findUnknownKey({ csb: { apiKee: 'a' } }, schema)?.message).toBe(
      'unknown setting "csb.apiKee"; did you mean "apiKey"? Known in "csb": apiKey, baseUrl, authScheme, defaultProductId, defaultModuleId, prefixCustomTraits'
    )
    expect(findUnknownKey({ prot: 1 }, schema)?.message).toMatch(/^unknown setting "prot"; did you mean "port"\? Known at the top level: port, host,/)
  })

  it('leaves values of the wrong type to the loader, and the inside of a mapping to delivery', () => {
    expect(findUnknownKey({ sources: 'k', csb: ['x'], ingest: 5, filters: { drop: 1 } }, schema)).toBeUndefined()
    expect(findUnknownKey({ subscriptions: [{ mapping: { whatever: { deep: 1 } } }] }, schema)).toBeUndefined()
  })

  it('checks the values of a map of user-named keys', () => {
    const shape = object({ consent: map(list(values('category'))), flag: value })
    expect(findUnknownKey({ consent: { 'My Destination': [{ category: 'x' }] } }, shape)).toBeUndefined()
    expect(findUnknownKey({ consent: { 'My Destination': [{ categry: 'x' }] } }, shape)?.path).toBe('consent.My Destination[0].categry')
  })
})

describe('closestKey and editDistance', () => {
  it('counts inserts, deletes, substitutions and swapped neighbours as one edit each', () => {
    expect(editDistance('sharedSecret', 'sharedSecret')).toBe(0)
    expect(editDistance('sharedSecrt', 'sharedSecret')).toBe(1)
    expect(editDistance('sharedSecrte', 'sharedSecret')).toBe(1)
    expect(editDistance('kitten', 'sitting')).toBe(3)
    expect(editDistance('', 'abc')).toBe(3)
  })

  it('picks the nearest known key, ignoring letter case', () => {
    expect(closestKey('WRITEKEY', ['name', 'writeKey'])).toBe('writeKey')
    expect(closestKey('burst', ['name', 'writeKey', 'burstEvents'])).toBe('burstEvents')
    expect(closestKey('x', [])).toBeUndefined()
  })
})
