import { describe, expect, it } from 'vitest'
import { createScrubber, REDACTED, scrubText } from '../destination'
import * as destinationScrubber from '../destination/common/scrub'
import { isSecretName, redactConfig, redactDbUrl, redactSecret, SecretSet, scrubValue, redactSecretFields, secretValuesOf } from './secrets'

/** Every form a secret is removed in: as written, JSON-escaped, URL-encoded, Basic padded and not. */
function formsOf(secret: string): string[] {
  const basic = Buffer.from(`${secret}:`, 'utf8').toString('base64')
  return [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), basic, basic.replace(/=+$/, '')]
}

/** A long key with characters that every form changes, and a short one (removed as a word of its own). */
const KEYS = ['csb-KEY+/abc=="quoted"', 'k3y']

describe("secrets by value: the destination's scrubber, used by delivery", () => {
  const key = KEYS[0]!
  const scrub = createScrubber([key, 'wk_live_123456', undefined, 'short'])

  it('is the one the destination uses for its own error messages (src/destination/common/scrub.test.ts states the rule)', () => {
    expect(createScrubber).toBe(destinationScrubber.createScrubber)
    expect(scrubText).toBe(destinationScrubber.scrubText)
  })

  it('scrubs every string inside a value without touching its shape', () => {
    const out = scrubValue({ a: [key, 1, { b: `x${key}` }], d: new Date(0), n: null }, scrub)
    expect(out).toEqual({ a: [REDACTED, 1, { b: `x${REDACTED}` }], d: new Date(0), n: null })
  })

  it('a SecretSet scrubs secrets added after it was made (a CSB key given at runtime), short ones included', () => {
    const set = new SecretSet(['wk_live_123456'])
    const scrub = set.scrub
    expect(scrub('key csb_runtime_999999, tiny')).toBe('key csb_runtime_999999, tiny')
    set.add('csb_runtime_999999', undefined, '', 'tiny')
    expect(scrub('key csb_runtime_999999 and wk_live_123456, tiny')).toBe(`key ${REDACTED} and ${REDACTED}, ${REDACTED}`)
    expect(scrub('a tinyurl link')).toBe('a tinyurl link')
  })

  it('removes the CSB key from a dead-letter reason, as written and as HTTP Basic credentials', () => {
    const apiKey = 'csb_destination_key_42'
    const basic = Buffer.from(`${apiKey}:`, 'utf8').toString('base64')
    const scrubbed = scrubText(`a ${apiKey} b Basic ${basic} c`, [apiKey])
    expect(scrubbed).not.toContain(apiKey)
    expect(scrubbed).not.toContain(basic.replace(/=+$/, ''))
    expect(scrubbed).toBe(`a ${REDACTED} b Basic ${REDACTED} c`)
    for (const secrets of [['sk-123456'], ['sk-123456', undefined]]) {
      expect(scrubText('header Bearer sk-123456 rejected', secrets)).toBe('header Bearer [redacted] rejected')
    }
  })

  for (const apiKey of KEYS) {
    it(`keeps the key ${JSON.stringify(apiKey)} out of dead-letter reasons, samples and log lines in every form`, () => {
      const forms = formsOf(apiKey)
      const set = new SecretSet([apiKey])
      // A reason quoting CSB's answer.
      const reasons = forms.map((form) => scrubText(`HTTP 400: bad key ${form}`, [apiKey]))
      expect(reasons).toEqual(forms.map(() => `HTTP 400: bad key ${REDACTED}`))
      // A sample as the dashboard shows it: a URL, a parsed body, a body kept as text.
      const sample = {
        request: { url: `https://x/api?key=${encodeURIComponent(apiKey)}`, headers: { authorization: REDACTED }, body: { forms } },
        response: { status: 400, body: `{"echo":${JSON.stringify(apiKey)}}` }
      }
      const shown = JSON.stringify(scrubValue(sample, set.scrub))
      expect(forms.filter((form) => shown.includes(form))).toEqual([])
      expect(JSON.parse(shown)).toMatchObject({
        request: { url: `https://x/api?key=${REDACTED}`, body: { forms: forms.map(() => REDACTED) } },
        response: { body: `{"echo":"${REDACTED}"}` }
      })
      // A log line: JSON, so the key as written appears JSON-escaped.
      const logged = { msg: 'delivery failed', reason: `bad key ${apiKey}`, url: sample.request.url, auth: `Basic ${forms[3]}` }
      const line = set.scrub(JSON.stringify(logged))
      expect(forms.filter((form) => line.includes(form))).toEqual([])
      expect(JSON.parse(line)).toEqual({
        msg: 'delivery failed', reason: `bad key ${REDACTED}`, url: `https://x/api?key=${REDACTED}`, auth: `Basic ${REDACTED}`
      })
    })
  }
})

describe('secrets by name: the same names for samples, logs and configurations', () => {
  it('names as secret every header the samples hide and every field the logger hides', () => {
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

  it("takes a database URL's password, one with an @ included, and nothing from a file path", () => {
    expect(redactDbUrl('postgresql://relay:p@ss@db/csb')).toBe('postgresql://relay:[redacted]@db/csb')
    expect(secretValuesOf({ db: 'postgresql://relay:p@ss@db/csb' })).toEqual(['p@ss'])
    expect(secretValuesOf({ db: './data/csb-relay.db' })).toEqual([])
  })
})
