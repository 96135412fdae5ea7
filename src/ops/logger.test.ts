import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from './logger'
import { SecretSet } from '../delivery'

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

  it('redacts each credential field and header where it was redacted before, and the secret headers and shared secrets', () => {
    const { lines, stream } = capture()
    const log = createLogger({ level: 'info', destination: stream })
    log.info({
      apiKey: 'a1', writeKey: 'w1', adminToken: 't1', authorization: 'b1', password: 'p1', sharedSecret: 's1',
      a: { apiKey: 'a2', writeKey: 'w2', adminToken: 't2', authorization: 'b2', password: 'p2', b: { apiKey: 'a3', writeKey: 'w3' } },
      headers: { authorization: 'h1', Authorization: 'h2', 'x-api-key': 'h3', cookie: 'h4' },
      req: { headers: { authorization: 'h5', Authorization: 'h6', cookie: 'h7', 'proxy-authorization': 'h8', 'content-type': 'application/json' } }
    }, 'all of them')
    const line = JSON.parse(lines[0]!)
    const values = JSON.stringify(line)
    for (const secret of ['a1', 'w1', 't1', 'b1', 'p1', 's1', 'a2', 'w2', 't2', 'b2', 'p2', 'a3', 'w3', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8']) {
      expect(values, secret).not.toContain(`"${secret}"`)
    }
    expect(line.req.headers['content-type']).toBe('application/json')
    expect(line.a.b.apiKey).toBe('[redacted]')
  })

  it("redacts credentials in a child logger's bindings", () => {
    const { lines, stream } = capture()
    const child = createLogger({ level: 'info', destination: stream }).child({ source: { name: 'web', writeKey: 'wk-child' } })
    child.info('bound')
    child.child({ db: { password: 'pw-grandchild' } }).info('bound twice')
    expect(lines.join('\n')).not.toMatch(/wk-child|pw-grandchild/)
    expect(JSON.parse(lines[0]!).source).toEqual({ name: 'web', writeKey: '[redacted]' })
    expect(JSON.parse(lines[1]!).db).toEqual({ password: '[redacted]' })
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
