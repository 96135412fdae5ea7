import { describe, expect, it } from 'vitest'
import { redactKey } from '../destination/common/settings'
import {
  createScrubber, isSecretName, REDACTED, redactConfig, redactDbUrl, redactSecret, SecretSet, scrubText, scrubValue, redactSecretFields, secretValuesOf
} from './secrets'

describe('secret scrubbing', () => {
  const key = 'csb-KEY+/abc=="quoted"'
  const scrub = createScrubber([key, 'wk_live_123456', undefined, 'short'])

  it('replaces a secret as written, JSON-escaped, URL-encoded and as HTTP Basic credentials', () => {
    expect(scrub(`key ${key} here`)).toBe(`key ${REDACTED} here`)
    expect(scrub(JSON.stringify({ k: key }))).toBe(`{"k":"${REDACTED}"}`)
    expect(scrub(`/v1/projects/${encodeURIComponent(key)}/settings`)).toBe(`/v1/projects/${REDACTED}/settings`)
    const basic = Buffer.from('wk_live_123456:').toString('base64')
    expect(scrub(`Authorization: Basic ${basic}`)).not.toContain(basic.replace(/=+$/, ''))
  })

  it('leaves text without secrets and very short "secrets" alone', () => {
    expect(scrub('nothing secret; short word short')).toBe('nothing secret; short word short')
  })

  it('scrubs every string inside a value without touching its shape', () => {
    const out = scrubValue({ a: [key, 1, { b: `x${key}` }], d: new Date(0), n: null }, scrub)
    expect(out).toEqual({ a: [REDACTED, 1, { b: `x${REDACTED}` }], d: new Date(0), n: null })
  })

  it('is the identity when there are no secrets', () => {
    expect(createScrubber([])('anything')).toBe('anything')
  })

  it('a SecretSet scrubs secrets added after it was made (a CSB key given at runtime)', () => {
    const set = new SecretSet(['wk_live_123456'])
    const scrub = set.scrub
    expect(scrub('key csb_runtime_999999')).toBe('key csb_runtime_999999')
    set.add('csb_runtime_999999', undefined, 'tiny')
    expect(scrub('key csb_runtime_999999 and wk_live_123456, tiny')).toBe(`key ${REDACTED} and ${REDACTED}, tiny`)
  })
})

describe('one set of rules: everything each former scrubber removed is still removed', () => {
  it("covers the destination's own redactKey (the key as written and as HTTP Basic credentials)", () => {
    const settings = { apiKey: 'csb_destination_key_42' }
    const basic = Buffer.from(`${settings.apiKey}:`, 'utf8').toString('base64')
    const text = `a ${settings.apiKey} b Basic ${basic} c`
    expect(redactKey(text, settings)).not.toContain(settings.apiKey)
    const scrubbed = scrubText(text, [settings.apiKey])
    expect(scrubbed).not.toContain(settings.apiKey)
    expect(scrubbed).not.toContain(basic.replace(/=+$/, ''))
  })

  it("covers delivery's dead-letter reasons (the CSB key in an error text)", () => {
    expect(scrubText('header Bearer sk-123456 rejected', ['sk-123456', undefined])).toBe('header Bearer [redacted] rejected')
  })

  it('names as secret every header the samples redacted and every field the logger redacted', () => {
    for (const header of ['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'cookie', 'Authorization', 'X-Api-Key']) {
      expect(isSecretName(header), header).toBe(true)
    }
    for (const field of ['apiKey', 'writeKey', 'adminToken', 'authorization', 'password', 'sharedSecret', 'api_key']) {
      expect(isSecretName(field), field).toBe(true)
    }
    for (const ordinary of ['baseUrl', 'name', 'content-type', 'keyword', 'tokens', 'maxDistinctFeatures']) {
      expect(isSecretName(ordinary), ordinary).toBe(false)
    }
  })

  it('redacts fields named like a credential at any depth, without touching the value it was given', () => {
    const err = Object.assign(new Error('boom'), { options: { headers: { Authorization: 'Bearer abc' } } })
    const input = { a: { b: { apiKey: 'k', keep: 1 } }, list: [{ password: 'p' }], err, plain: 'text', none: null }
    const out = redactSecretFields(input)
    expect(out).toEqual({ a: { b: { apiKey: REDACTED, keep: 1 } }, list: [{ password: REDACTED }], err: expect.any(Error), plain: 'text', none: null })
    expect(out.err).toBeInstanceOf(Error)
    expect(out.err.message).toBe('boom')
    expect(out.err.options.headers.Authorization).toBe(REDACTED)
    expect(input.a.b.apiKey).toBe('k')
    expect(err.options.headers.Authorization).toBe('Bearer abc')
    const clean = { a: { b: 1 }, c: [1, 2] }
    expect(redactSecretFields(clean)).toBe(clean)
    const frozen = Object.freeze({ csb: Object.freeze({ apiKey: 'frozen-key', baseUrl: 'https://x' }) })
    expect(redactSecretFields(frozen)).toEqual({ csb: { apiKey: REDACTED, baseUrl: 'https://x' } })
    expect(frozen.csb.apiKey).toBe('frozen-key')
  })
})

describe('the configuration shown to people and the secrets it holds', () => {
  const config = {
    port: 8080,
    db: 'postgres://relay:db-password-1@db.internal/csb',
    sources: [{ name: 'web', writeKey: 'wk_web_123456', sharedSecret: 'hmac-secret-99' }],
    adminToken: 'admin-token-xyz',
    csb: { apiKey: 'csb-api-key-123456', baseUrl: 'https://acme.customersuccessbox.com', authScheme: 'bearer' },
    destinations: [{ name: 'other', settings: { apiKey: 'other-destination-key', region: 'eu' } }],
    configFile: undefined
  }

  it('shows every field named like a credential by its length only, and a database URL without its password', () => {
    expect(redactConfig(config)).toEqual({
      port: 8080,
      db: 'postgres://relay:[redacted]@db.internal/csb',
      sources: [{ name: 'web', writeKey: '[redacted, 13 chars]', sharedSecret: '[redacted, 14 chars]' }],
      adminToken: '[redacted, 15 chars]',
      csb: { apiKey: '[redacted, 18 chars]', baseUrl: 'https://acme.customersuccessbox.com', authScheme: 'bearer' },
      destinations: [{ name: 'other', settings: { apiKey: '[redacted, 21 chars]', region: 'eu' } }],
      configFile: undefined
    })
    expect(redactConfig({ adminToken: undefined, csb: undefined })).toEqual({ adminToken: undefined, csb: undefined })
    expect(redactSecret('')).toBe('')
  })

  it('finds every secret value in it, for scrubbing by value', () => {
    expect(secretValuesOf(config).sort()).toEqual(
      ['db-password-1', 'wk_web_123456', 'hmac-secret-99', 'admin-token-xyz', 'csb-api-key-123456', 'other-destination-key'].sort()
    )
    const scrub = createScrubber(secretValuesOf(config))
    const everything = JSON.stringify(config)
    for (const secret of secretValuesOf(config)) expect(scrub(everything)).not.toContain(secret)
  })

  it('hides nothing the database URL rule hid before', () => {
    expect(redactDbUrl('postgresql://relay:p@ss@db/csb')).toBe('postgresql://relay:[redacted]@db/csb')
    expect(secretValuesOf({ db: 'postgresql://relay:p@ss@db/csb' })).toEqual(['p@ss'])
    expect(secretValuesOf({ db: './data/csb-relay.db' })).toEqual([])
  })
})
