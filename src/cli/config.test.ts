import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from '../../test/helpers/temp'
import { redactConfig, redactDbUrl } from '../delivery'
import { ConfigError, defaults, loadConfig } from './config'

describe('loadConfig', () => {
  it('uses the defaults when nothing is set', () => {
    const config = loadConfig({ argv: [], env: {} })
    expect(config.port).toBe(defaults.port)
    expect(config.host).toBe(defaults.host)
    expect(config.db).toBe(defaults.db)
    expect(config.csb).toBeUndefined()
    expect(config.delivery).toEqual(defaults.delivery)
  })

  it('lets flags win over the environment', () => {
    const config = loadConfig({ argv: ['--port', '9001', '--db', 'sqlite:/tmp/x.db'], env: { PORT: '9000', CSB_RELAY_DB: '/tmp/y.db' } })
    expect(config.port).toBe(9001)
    expect(config.db).toBe('sqlite:/tmp/x.db')
  })

  it('names the setting and the fix when CSB is half configured', () => {
    expect(() => loadConfig({ env: { CSB_API_KEY: 'k' } })).toThrow(/CSB_BASE_URL/)
    expect(() => loadConfig({ env: { CSB_BASE_URL: 'https://a.customersuccessbox.com' } })).toThrow(/CSB_API_KEY/)
  })

  it('reads the delivery threads from CSB_RELAY_DELIVERY_THREADS (default 0) and refuses a bad count', () => {
    expect(loadConfig({ env: { CSB_RELAY_DELIVERY_THREADS: '2' } }).deliveryThreads).toBe(2)
    expect(loadConfig({ env: {} }).deliveryThreads).toBe(0)
    expect(() => loadConfig({ env: { CSB_RELAY_DELIVERY_THREADS: 'many' } })).toThrow(/integer/)
    expect(() => loadConfig({ env: { CSB_RELAY_DELIVERY_THREADS: 'many' } })).toThrow(ConfigError)
  })

  it('refuses a bad port with a ConfigError naming it', () => {
    expect(() => loadConfig({ env: { PORT: 'eighty' } })).toThrow(ConfigError)
    expect(() => loadConfig({ env: { PORT: '70000' } })).toThrow(/port must be at most 65535/)
  })
})

describe('redaction', () => {
  it('removes the password from a PostgreSQL URL and leaves paths alone', () => {
    expect(redactDbUrl('postgres://relay:s3cret@db.internal:5432/csb')).toBe('postgres://relay:[redacted]@db.internal:5432/csb')
    expect(redactDbUrl('postgresql://relay:p@ss@db/csb')).toBe('postgresql://relay:[redacted]@db/csb')
    expect(redactDbUrl('postgres://relay@db/csb')).toBe('postgres://relay@db/csb')
    expect(redactDbUrl('./data/csb-relay.db')).toBe('./data/csb-relay.db')
  })

  it('redacts every secret in the configuration shown to people', () => {
    const config = loadConfig({
      env: {
        CSB_API_KEY: 'api-key-123456',
        CSB_BASE_URL: 'https://acme.customersuccessbox.com',
        CSB_RELAY_WRITE_KEYS: 'wk-abcdef',
        CSB_RELAY_ADMIN_TOKEN: 'admin-token-xyz',
        CSB_RELAY_DB: 'postgres://u:dbpass@127.0.0.1/x'
      }
    })
    const shown = JSON.stringify(redactConfig(config))
    for (const secret of ['api-key-123456', 'wk-abcdef', 'admin-token-xyz', 'dbpass']) expect(shown).not.toContain(secret)
    expect(shown).toContain('acme.customersuccessbox.com')
  })
})

describe('config file keys', () => {
  const dir = tempDir('csb-relay-config-')
  afterAll(removeTempDirs)
  function load(file: unknown) {
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify(file))
    return loadConfig({ argv: ['--config', 'c.json'], env: {}, cwd: dir })
  }

  it('refuses an unknown key at any depth with a ConfigError naming its path and the closest known key', () => {
    expect(() => load({ sources: [{ writeKey: 'k', sharedSecrt: 's' }] })).toThrow(ConfigError)
    expect(() => load({ sources: [{ writeKey: 'k', sharedSecrt: 's' }] })).toThrow(/^unknown setting "sources\[0\]\.sharedSecrt"; did you mean "sharedSecret"\?/)
    expect(() => load({ csb: { apiKey: 'a', baseUrl: 'https://a.customersuccessbox.com', defaultProduct: 'x' } })).toThrow(
      /unknown setting "csb\.defaultProduct"; did you mean "defaultProductId"\?/
    )
    expect(() => load({ ingest: { maxBatch: 3 } })).toThrow(/unknown setting "ingest\.maxBatch"; did you mean "maxBatchEvents"\?.*\(in .*c\.json\)$/)
  })

  it('knows every key of the tuning sections from their defaults', () => {
    const config = load({ ingest: { ...defaults.ingest, maxBacklog: 7 }, delivery: { ...defaults.delivery, maxConcurrency: 9 }, store: { ...defaults.store } })
    expect(config.ingest.maxBacklog).toBe(7)
    expect(config.delivery.maxConcurrency).toBe(9)
  })

  it('reads a source rate limit, and no limit when it is left out', () => {
    const config = load({ sources: [{ name: 'a', writeKey: 'k1', maxEventsPerSecond: 2.5, burstEvents: 10 }, { name: 'b', writeKey: 'k2', maxEventsPerSecond: 100 }, { name: 'c', writeKey: 'k3' }] })
    expect(config.sources).toEqual([
      { name: 'a', writeKey: 'k1', maxEventsPerSecond: 2.5, burstEvents: 10 },
      { name: 'b', writeKey: 'k2', maxEventsPerSecond: 100 },
      { name: 'c', writeKey: 'k3' }
    ])
    expect('maxEventsPerSecond' in config.sources[2]!).toBe(false)
  })

  it.each([
    [{ maxEventsPerSecond: 0 }, /^sources\[0\]\.maxEventsPerSecond must be a number of events per second above 0/],
    [{ maxEventsPerSecond: '10' }, /^sources\[0\]\.maxEventsPerSecond must be/],
    [{ maxEventsPerSecond: 10, burstEvents: 0 }, /^sources\[0\]\.burstEvents must be a whole number of events >= 1 \(default: one second's worth, 10\)/],
    [{ maxEventsPerSecond: 10, burstEvents: 2.5 }, /^sources\[0\]\.burstEvents must be a whole number/],
    [{ burstEvents: 5 }, /^sources\[0\]\.burstEvents needs sources\[0\]\.maxEventsPerSecond/]
  ])('refuses the rate limit %j naming the setting and the fix', (limit, message) => {
    expect(() => load({ sources: [{ writeKey: 'k', ...limit }] })).toThrow(message)
  })
})
