/**
 * `csb-relay start` as a process, as a user runs it (build first: `npm run build`):
 * configuration errors exit 2 naming the setting; SIGTERM lets in-flight requests finish and
 * commit, then exits 0; flags win over the environment.
 */
import { afterAll, describe, expect, it } from 'vitest'
import http from 'node:http'
import path from 'node:path'
import fs from 'node:fs'
import { openStore } from '../../src/store'
import { runCli, startRelayProcess } from '../helpers/processes'
import { basicAuth, postEvents } from '../helpers/http'
import { TEST_WRITE_KEY } from '../helpers/relay'
import { removeTempDirs, tempDir } from '../helpers/temp'
import { freePort } from '../helpers/wait'

afterAll(removeTempDirs)

describe('configuration errors', () => {
  it.each([
    [['--port', '70000'], 'port must be at most 65535'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--config', '/nonexistent/relay.json'], 'config file /nonexistent/relay.json cannot be read']
  ])('start %j prints the problem and exits 2', async (args, message) => {
    const cli = runCli(['start', ...args], { env: { CSB_RELAY_DB: path.join(tempDir(), 'x.db') } })
    const { code } = await cli.exited
    expect(code).toBe(2)
    expect(cli.stderr()).toContain('configuration error')
    expect(cli.stderr()).toContain(message)
  })

  it('names the setting from a config file', async () => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ ingest: { maxBatch: 3 } }))
    const cli = runCli(['start', '--config', path.join(dir, 'c.json')], { env: { CSB_RELAY_DB: path.join(dir, 'x.db') } })
    expect((await cli.exited).code).toBe(2)
    expect(cli.stderr()).toContain('unknown setting "ingest.maxBatch"')
  })
})

describe('start', () => {
  it('exits 1 naming the problem when the port is taken, without hanging', async () => {
    const blocker = http.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const cli = runCli(['start', '--port', String(port), '--db', path.join(tempDir(), 'r.db')], { env: { CSB_RELAY_WRITE_KEYS: TEST_WRITE_KEY } })
      expect(await cli.exited).toEqual({ code: 1, signal: null })
      expect(cli.stderr()).toContain('could not start: listen EADDRINUSE')
    } finally {
      blocker.close()
    }
  })

  it('prints the generated write key with SDK snippets, the dashboard URL and that CSB is not configured', async () => {
    const db = path.join(tempDir(), 'relay.db')
    const relay = await startRelayProcess({ db })
    try {
      await relay.waitForOutput(/CSB not configured/)
      const out = relay.stdout()
      const key = /Write key: (wk_\S+)/.exec(out)?.[1]
      expect(key).toBeDefined()
      expect(out).toContain(`Dashboard: ${relay.url}/`)
      expect(out).toContain(`new Analytics({ writeKey: '${key}', host: '${relay.url}', path: '/v1/batch' })`)
      expect(out).toContain(`AnalyticsBrowser.load({ writeKey: '${key}', cdnURL: '${relay.url}' })`)
      expect(out).toContain('events are accepted and held until CSB_API_KEY and CSB_BASE_URL are set')
      expect((await postEvents(relay.url, '/v1/identify', key!, '{"userId":"u"}')).status).toBe(200)
    } finally {
      expect((await relay.stop()).code).toBe(0)
    }
    // Printed only when generated; the key never reaches the log lines.
    const again = await startRelayProcess({ db })
    await again.waitForOutput(/CSB not configured/)
    await again.stop()
    expect(again.stdout()).not.toMatch(/Write key: wk_/)
  })

  it('closes on SIGINT (Ctrl-C) like on SIGTERM, exiting 0', async () => {
    const relay = await startRelayProcess({ env: { CSB_RELAY_WRITE_KEYS: TEST_WRITE_KEY } })
    expect(await relay.stop('SIGINT')).toEqual({ code: 0, signal: null })
    expect(relay.stdout()).toMatch(/"signal":"SIGINT".*closing: finishing in-flight requests/)
  })

  it('listens on the --port flag rather than PORT from the environment', async () => {
    const [flagPort, envPort] = [await freePort(), await freePort()]
    const relay = await startRelayProcess({
      args: ['--port', String(flagPort)],
      env: { PORT: String(envPort), CSB_RELAY_WRITE_KEYS: TEST_WRITE_KEY }
    })
    expect(relay.url).toBe(`http://127.0.0.1:${flagPort}`)
    expect((await relay.stop()).code).toBe(0)
  })
})

/** Starts a POST whose body is sent in two halves; resolves the response once the second is sent. */
function slowPost(url: string, body: string): { sentHalf: Promise<void>; finish(): Promise<{ status: number; body: string }> } {
  const target = new URL('/v1/track', url)
  const request = http.request({
    host: target.hostname, port: target.port, path: target.pathname, method: 'POST',
    headers: { authorization: basicAuth(TEST_WRITE_KEY), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
  })
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('response', (res) => {
      let text = ''
      res.on('data', (c: Buffer) => (text += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    request.on('error', reject)
  })
  const half = Math.floor(body.length / 2)
  const sentHalf = new Promise<void>((resolve) => request.write(body.slice(0, half), () => resolve()))
  return {
    sentHalf,
    finish: () => {
      request.end(body.slice(half))
      return response
    }
  }
}

describe('SIGTERM', () => {
  it('finishes in-flight requests and their commits, refuses new connections, and exits 0', async () => {
    const db = path.join(tempDir(), 'relay.db')
    const relay = await startRelayProcess({ db, env: { CSB_RELAY_WRITE_KEYS: TEST_WRITE_KEY } })
    const inFlight = Array.from({ length: 5 }, (_, i) =>
      slowPost(relay.url, JSON.stringify({ userId: 'u', event: 'Slow', messageId: `in-flight-${i}` }))
    )
    await Promise.all(inFlight.map((r) => r.sentHalf))
    // Give the server a moment to have every request open before the signal.
    await new Promise((r) => setTimeout(r, 200))
    relay.child.kill('SIGTERM')
    await relay.waitForOutput(/closing: finishing in-flight requests/)
    await expect(fetch(`${relay.url}/healthz`)).rejects.toThrow()

    const answers = await Promise.all(inFlight.map((r) => r.finish()))
    expect(answers).toEqual(inFlight.map(() => ({ status: 200, body: '{"success":true}' })))
    const exit = await relay.exited
    expect(exit).toEqual({ code: 0, signal: null })

    const store = await openStore(db)
    try {
      const ids = (await store.list({ limit: 100 })).map((e) => e.messageId).sort()
      expect(ids).toEqual(inFlight.map((_, i) => `in-flight-${i}`))
    } finally {
      await store.close()
    }
  })
})
