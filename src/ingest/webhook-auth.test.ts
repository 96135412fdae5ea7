import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { basicAuth } from '../../test/helpers/http'
import { IngestError } from './errors'
import { WebhookAuth, firstElement, signedPart, type WebhookCredentials } from './webhook-auth'

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8'))
const hmac = (secret: string, value: string) => createHmac('sha1', secret).update(value, 'utf8').digest('hex')

describe('the first element of a JSON array, found by a byte scan', () => {
  it('finds objects, arrays, strings and numbers, with nesting, escapes and UTF-8 inside', () => {
    expect(text(firstElement(Buffer.from('[{"a":{"b":[1,{"c":"}]"}]}},{"d":2}]')))).toBe('{"a":{"b":[1,{"c":"}]"}]}}')
    expect(text(firstElement(Buffer.from(' \n[ {"q":"say \\"hi\\" ] {","é":"ü"} , 2]')))).toBe('{"q":"say \\"hi\\" ] {","é":"ü"}')
    expect(text(firstElement(Buffer.from('[[1,[2]],3]')))).toBe('[1,[2]]')
    expect(text(firstElement(Buffer.from('["a\\\\",1]')))).toBe('"a\\\\"')
    expect(text(firstElement(Buffer.from('[12.5e3 ,1]')))).toBe('12.5e3')
    expect(text(firstElement(Buffer.from('[true]')))).toBe('true')
  })

  it('finds nothing in an empty array, a truncated one, or something else', () => {
    for (const body of ['[]', '[ ]', '[{"a":1', '["open', '{"a":[1]}', '', '1']) expect(firstElement(Buffer.from(body)), body).toBeUndefined()
  })
})

describe('what Segment signs', () => {
  it('is the body for one event, and JSON.stringify of the first event for an array', () => {
    const single = Buffer.from('{"type":"track","event":"E"}')
    expect(signedPart(single)).toBe(single)
    const first = { type: 'identify', userId: 'u', traits: { name: 'Zoë', n: 1.5e-7, '10': 1, '2': 2 } }
    const body = Buffer.from(JSON.stringify([first, { type: 'track' }], null, 1))
    expect(text(signedPart(body))).toBe(JSON.stringify(first))
  })

  it('is nothing for an empty array or a first event that is not JSON', () => {
    expect(signedPart(Buffer.from('[]'))).toBeUndefined()
    expect(signedPart(Buffer.from('[{"a":nope},{}]'))).toBeUndefined()
  })
})

describe('webhook authentication', () => {
  const auth = new WebhookAuth([
    { name: 'web', writeKey: 'wk-web-123456' },
    { name: 'segment', writeKey: 'wk-segment-123456', sharedSecret: 'secret-segment' },
    { name: 'other', writeKey: 'wk-other-123456', sharedSecret: 'secret-other' }
  ])
  const body = Buffer.from(JSON.stringify({ type: 'track', userId: 'u', event: 'E' }))
  const events = [{ type: 'track', userId: 'u', event: 'E1' }, { type: 'track', userId: 'u', event: 'E2' }]
  const array = Buffer.from(JSON.stringify(events))
  const sourceOf = (credentials: Partial<WebhookCredentials>) =>
    auth.sourceOf({ authorization: undefined, queryWriteKey: undefined, signature: undefined, body, ...credentials })
  const refusal = (credentials: Partial<WebhookCredentials>) => {
    try {
      return `accepted as ${sourceOf(credentials)}`
    } catch (err) {
      expect(err).toBeInstanceOf(IngestError)
      expect((err as IngestError).statusCode).toBe(401)
      return (err as Error).message
    }
  }

  it('takes the write key by HTTP Basic or ?writeKey= for a source without a sharedSecret', () => {
    expect(sourceOf({ authorization: basicAuth('wk-web-123456') })).toBe('web')
    expect(sourceOf({ queryWriteKey: 'wk-web-123456' })).toBe('web')
    expect(refusal({ authorization: basicAuth('wk-web-12345') })).toMatch(/^write key not recognised/)
    expect(refusal({ queryWriteKey: 'nope' })).toMatch(/^write key not recognised/)
    expect(refusal({ queryWriteKey: ['wk-web-123456', 'wk-web-123456'] })).toMatch(/^no credentials/)
    expect(refusal({})).toMatch(/^no credentials: send the write key as HTTP Basic auth/)
  })

  it('finds the source of a signed request without a key by the secret that verifies it', () => {
    expect(sourceOf({ signature: hmac('secret-segment', body.toString()) })).toBe('segment')
    expect(sourceOf({ signature: hmac('secret-other', body.toString()).toUpperCase() })).toBe('other')
    expect(refusal({ signature: hmac('secret-wrong', body.toString()) })).toMatch(/^X-Signature does not verify with any source's sharedSecret/)
    expect(refusal({ signature: 'abc' })).toMatch(/^X-Signature must be 40 hex digits/)
  })

  it('verifies an array against its first event, as Segment signs batches, and nothing else', () => {
    expect(sourceOf({ body: array, signature: hmac('secret-segment', JSON.stringify(events[0])) })).toBe('segment')
    expect(refusal({ body: array, signature: hmac('secret-segment', array.toString()) })).toMatch(/does not verify/)
    expect(refusal({ body: array, signature: hmac('secret-segment', JSON.stringify(events[1])) })).toMatch(/does not verify/)
  })

  it('requires the signature, not only the key, for a source with a sharedSecret', () => {
    const signature = hmac('secret-segment', body.toString())
    expect(sourceOf({ authorization: basicAuth('wk-segment-123456'), signature })).toBe('segment')
    expect(refusal({ authorization: basicAuth('wk-segment-123456') })).toMatch(/^this source has a sharedSecret, so requests must be signed/)
    expect(refusal({ queryWriteKey: 'wk-segment-123456', signature: hmac('secret-other', body.toString()) })).toMatch(/^X-Signature does not verify with this source's sharedSecret/)
    // A key names one source: another source's valid signature does not rescue a wrong pairing.
    expect(refusal({ authorization: basicAuth('wk-other-123456'), signature })).toMatch(/does not verify with this source's sharedSecret/)
  })

  it('never puts a key or secret into its messages', () => {
    const messages = [
      refusal({ authorization: basicAuth('wk-web-123456x') }),
      refusal({ queryWriteKey: 'wk-segment-123456' }),
      refusal({ signature: hmac('secret-segment', 'x') })
    ].join('\n')
    for (const secret of ['wk-web-123456', 'wk-segment-123456', 'secret-segment', 'secret-other']) expect(messages).not.toContain(secret)
  })
})
