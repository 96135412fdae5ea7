import { describe, expect, it } from 'vitest'
import { createScrubber, REDACTED, SecretSet, scrubValue } from './secrets'

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
