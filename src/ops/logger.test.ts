import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from './logger'
import { SecretSet } from './secrets'

function capture() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    }
  })
  return { lines, stream }
}

const API_KEY = 'sk_csb_TESTKEY_0123456789abcdef'
const WRITE_KEY = 'wk_TESTWRITEKEY_42'

describe('logger', () => {
  it('writes JSON lines and redacts credentials by field name', () => {
    const { lines, stream } = capture()
    const log = createLogger({ level: 'info', destination: stream })
    log.info({ csb: { apiKey: 'whatever-key', baseUrl: 'https://x' }, headers: { authorization: 'Bearer abc' }, writeKey: 'k' }, 'config')
    const line = JSON.parse(lines[0])
    expect(line.msg).toBe('config')
    expect(line.csb.apiKey).toBe('[redacted]')
    expect(line.csb.baseUrl).toBe('https://x')
    expect(line.headers.authorization).toBe('[redacted]')
    expect(line.writeKey).toBe('[redacted]')
  })

  it('scrubs secret values wherever they appear in a line (messages, URLs, errors)', () => {
    const { lines, stream } = capture()
    const log = createLogger({ level: 'info', destination: stream, secrets: [API_KEY, WRITE_KEY] })
    log.warn({ url: `/v1/projects/${WRITE_KEY}/settings` }, `request failed with key ${API_KEY}`)
    log.error({ err: new Error(`401 for ${API_KEY}`) }, 'boom')
    const text = lines.join('\n')
    expect(text).not.toContain(API_KEY)
    expect(text).not.toContain(WRITE_KEY)
    expect(text).toContain('/v1/projects/[redacted]/settings')
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['request failed with key [redacted]', 'boom'])
  })

  it('scrubs a secret added to its SecretSet after it was created', () => {
    const { lines, stream } = capture()
    const secrets = new SecretSet([WRITE_KEY])
    const log = createLogger({ level: 'info', destination: stream, secrets })
    secrets.add(API_KEY)
    log.info({ note: `key ${API_KEY} via ${WRITE_KEY}` }, 'later')
    expect(lines.join('\n')).not.toContain(API_KEY)
    expect(JSON.parse(lines[0]!).note).toBe('key [redacted] via [redacted]')
  })
})
