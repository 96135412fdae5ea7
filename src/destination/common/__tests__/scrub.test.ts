import { createRequestClient } from '@segment/actions-core'
import nock from 'nock'
import { FAKE_CSB_KEY, FAKE_CSB_URL } from '../../__tests__/__helpers__/helpers'
import { CSB_PATHS } from '../constants'
import { postToCsb } from '../request'
import { createScrubber, scrubText } from '../scrub'

const basicOf = (secret: string) => Buffer.from(`${secret}:`, 'utf8').toString('base64')

/** Every form a secret is removed in: as written, JSON-escaped, URL-encoded, Basic padded and not. */
function formsOf(secret: string): string[] {
  const basic = basicOf(secret)
  return [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), basic, basic.replace(/=+$/, '')]
}

describe('scrubbing secrets by value', () => {
  const key = 'csb-KEY+/abc=="quoted"'
  const scrub = createScrubber([key, 'wk_live_123456', undefined, null, ''])

  it('replaces a secret as written, JSON-escaped, URL-encoded and as HTTP Basic credentials', () => {
    expect(scrub(`key ${key} here`)).toBe('key [redacted] here')
    expect(scrub(JSON.stringify({ k: key }))).toBe('{"k":"[redacted]"}')
    expect(scrub(`/v1/projects/${encodeURIComponent(key)}/settings`)).toBe('/v1/projects/[redacted]/settings')
    const basic = basicOf('wk_live_123456')
    expect(scrub(`Authorization: Basic ${basic}`)).toBe('Authorization: Basic [redacted]')
    expect(scrub(`Basic ${basic.replace(/=+$/, '')}`)).toBe('Basic [redacted]')
  })

  it('removes a secret of 6 characters or more even inside a longer word', () => {
    expect(scrub(`x${key}`)).toBe('x[redacted]')
    expect(scrub('prefixwk_live_123456suffix')).toBe('prefix[redacted]suffix')
  })

  it('removes the longest secret whole when one contains another', () => {
    expect(scrubText('abcdefghij abcdef', ['abcdef', 'abcdefghij'])).toBe('[redacted] [redacted]')
  })

  it('removes a short key and its Basic form', () => {
    const basic = basicOf('k3y')
    expect(scrubText(`a k3y b ${basic} c`, ['k3y'])).toBe('a [redacted] b [redacted] c')
  })

  it('removes a short secret wherever it stands on its own, but not inside a longer word', () => {
    const short = createScrubber(['short'])
    expect(short('nothing secret; short word short')).toBe('nothing secret; [redacted] word [redacted]')
    expect(short('"short" /short? short_key short-key')).toBe('"[redacted]" /[redacted]? [redacted]_key [redacted]-key')
    expect(short('shortly, shorts and ashort')).toBe('shortly, shorts and ashort')
    const oneLetter = createScrubber(['k'])
    expect(oneLetter('track k, Bearer k')).toBe('track [redacted], Bearer [redacted]')
  })

  it('removes a short secret in every form, and one that starts or ends with a symbol even next to a word', () => {
    for (const secret of ['k3y', 'k"y', 'a b', '+ab']) {
      const forms = formsOf(secret)
      expect(forms.map((form) => [form, scrubText(`key ${form} here`, [secret])])).toEqual(
        forms.map((form) => [form, 'key [redacted] here'])
      )
    }
    expect(scrubText('x+ab', ['+ab'])).toBe('x[redacted]')
  })

  it('leaves text without secrets alone, and changes nothing without secrets', () => {
    expect(scrub('nothing secret here')).toBe('nothing secret here')
    expect(scrub('')).toBe('')
    expect(createScrubber([])('anything')).toBe('anything')
    expect(createScrubber([undefined, null, ''])('anything')).toBe('anything')
  })
})

describe("the destination's request errors", () => {
  beforeAll(() => nock.disableNetConnect())
  afterEach(() => nock.cleanAll())

  /** The error postToCsb throws when CSB answers `status` with `body` (JSON, or text for a string). */
  async function errorFor(apiKey: string, status: number, body: unknown): Promise<Error> {
    nock(FAKE_CSB_URL)
      .post(CSB_PATHS.user)
      .reply(status, typeof body === 'string' ? body : JSON.stringify(body), {
        'content-type': typeof body === 'string' ? 'text/plain' : 'application/json'
      })
    const settings = { apiKey, baseUrl: FAKE_CSB_URL }
    const error = await postToCsb(createRequestClient(), settings, CSB_PATHS.user, { user_id: 'u' }).then(
      () => undefined,
      (e: Error) => e
    )
    if (!error) throw new Error('expected postToCsb to throw')
    return error
  }

  for (const apiKey of [FAKE_CSB_KEY, 'k3y', 'k"y+/=']) {
    it(`never quote the key ${JSON.stringify(apiKey)} in any form CSB echoes`, async () => {
      const quoted: string[] = []
      for (const form of formsOf(apiKey)) {
        const answers: Array<[number, unknown]> = [
          [400, { success: false, message: `bad key ${form}` }],
          [200, { success: false, error: `bad key ${form}` }],
          [500, `bad key ${form}`]
        ]
        for (const [status, body] of answers) {
          const { message } = await errorFor(apiKey, status, body)
          if (!message.includes('bad key [redacted]') || message.includes(form)) {
            quoted.push(`${status} echoing ${form}: ${message}`)
          }
        }
      }
      expect(quoted).toEqual([])
    })
  }

  it('never quote the key JSON-escaped inside a structured answer', async () => {
    const apiKey = 'k"y\\z'
    const error = await errorFor(apiKey, 422, { success: false, errors: { apiKey } })
    expect(error.message).toContain('{"apiKey":"[redacted]"}')
    expect(error.message).not.toContain(JSON.stringify(apiKey).slice(1, -1))
  })
})
