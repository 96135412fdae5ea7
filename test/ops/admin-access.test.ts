/**
 * Admin access through the built relay. Started with HOST=0.0.0.0 and no
 * admin token, the relay makes one, prints it once, keeps only its hash, and requires it on
 * /api/ from every client, this machine's included; the CLI sends it. The 0.0.0.0 relay runs in
 * a network namespace of its own (`unshare --net`), where the only interface is loopback, so
 * nothing listens beyond this machine; requests and CLI runs join that namespace (`nsenter`).
 * Both need root, as CI has: as another user this file fails and says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { BIN, assertBuilt, cleanEnv, runCli, startRelayProcess, watchProcess, type CliProcess } from '../helpers/processes'
import { removeTempDirs, tempDir } from '../helpers/temp'

const run = promisify(execFile)
const WRITE_KEY = 'wk_admin_access_test'
const TOKEN_LINE = /^Admin token: (\S+)$/m

interface Answer {
  status: number
  text: string
}

/** A relay running in a network namespace of its own, and ways to talk to it from inside. */
interface IsolatedRelay {
  cli: CliProcess
  url: string
  /** Requests made in order from inside the namespace (loopback). */
  requests(list: Array<{ path: string; method?: string; token?: string; body?: unknown }>): Promise<Answer[]>
  /** `csb-relay ARGS` run inside the namespace: its exit code and output. */
  command(args: string[], env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>
  stop(): Promise<unknown>
}

const FETCH_ALL = `
const [url, list] = [process.argv[1], JSON.parse(process.argv[2])];
(async () => {
  const out = [];
  for (const r of list) {
    const headers = r.token === undefined ? {} : { authorization: 'Bearer ' + r.token };
    if (r.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url + r.path, { method: r.method || 'GET', headers, body: r.body === undefined ? undefined : JSON.stringify(r.body) });
    out.push({ status: res.status, text: await res.text() });
  }
  process.stdout.write(JSON.stringify(out));
})();`

async function startIsolated(db: string, extra: string[] = []): Promise<IsolatedRelay> {
  assertBuilt()
  const child = spawn('unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, BIN, 'start', '--port', '0', '--host', '0.0.0.0', '--db', db, ...extra], {
    env: cleanEnv({ CSB_RELAY_WRITE_KEYS: WRITE_KEY }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const cli = watchProcess(child)
  const url = (await cli.waitForOutput(/listening on (http:\/\/\S+)/))[1]!
  // Its own namespace: nothing it listens on is reachable from this machine's network.
  expect(fs.readlinkSync(`/proc/${child.pid}/ns/net`)).not.toBe(fs.readlinkSync('/proc/self/ns/net'))
  const netns = `--net=/proc/${child.pid}/ns/net`
  const inside = async (args: string[], env: Record<string, string> = {}) => {
    try {
      const { stdout, stderr } = await run('nsenter', [netns, '--', process.execPath, ...args], { env: cleanEnv(env) })
      return { code: 0, stdout, stderr }
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string }
      if (typeof e.code !== 'number') throw err
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
    }
  }
  return {
    cli,
    url,
    requests: async (list) => JSON.parse((await inside(['-e', FETCH_ALL, url, JSON.stringify(list)])).stdout) as Answer[],
    command: (args, env) => inside([BIN, ...args, '--url', url], env),
    stop: () => cli.stop()
  }
}

/** All the relay printed, stdout and stderr. */
const output = (cli: CliProcess) => cli.stdout() + cli.stderr()

function storeFiles(dir: string): Buffer {
  return Buffer.concat(fs.readdirSync(dir).filter((f) => f.startsWith('relay.db')).map((f) => fs.readFileSync(path.join(dir, f))))
}

let dir: string
let db: string
let generated: string
const running: Array<{ stop(): Promise<unknown> }> = []

beforeAll(() => {
  if (process.getuid?.() !== 0) {
    throw new Error('test/ops/admin-access.test.ts runs the relay in a network namespace of its own (unshare --net), which needs root: run it as root, as CI does')
  }
  dir = tempDir()
  db = path.join(dir, 'relay.db')
})

afterAll(async () => {
  for (const r of running.splice(0)) await r.stop()
  removeTempDirs()
})

describe('admin access, HOST=0.0.0.0 with no admin token', () => {
  it('makes a token, prints it once, requires it on /api/ from this machine too, and the CLI sends it', async () => {
    const relay = await startIsolated(db)
    running.push(relay)
    const token = output(relay.cli).match(TOKEN_LINE)?.[1]
    expect(token, output(relay.cli)).toMatch(/^at_[A-Za-z0-9_-]{43}$/)
    generated = token!

    const [none, wrong, right, putNone, putRight, page, health, ingestAnswer] = await relay.requests([
      { path: '/api/overview' },
      { path: '/api/overview', token: `${token}x` },
      { path: '/api/overview', token },
      { path: '/api/csb', method: 'PUT', body: { apiKey: 'k', baseUrl: 'https://acme.customersuccessbox.com' } },
      { path: '/api/csb', method: 'PUT', token, body: { nope: true } },
      { path: '/' },
      { path: '/healthz' },
      { path: '/v1/track', method: 'POST', body: { writeKey: WRITE_KEY, userId: 'u1', event: 'Tried' } }
    ])
    expect([none!.status, wrong!.status, right!.status]).toEqual([401, 401, 200])
    expect(putNone!.status).toBe(401)
    // Past the token: the settings themselves are refused, naming the field.
    expect(putRight!.status).toBe(400)
    expect([page!.status, health!.status, ingestAnswer!.status]).toEqual([200, 200, 200])
    for (const answer of [none, wrong, right, putNone, putRight, page, health]) expect(answer!.text).not.toContain(token)

    const byEnv = await relay.command(['status'], { CSB_RELAY_ADMIN_TOKEN: token! })
    expect(byEnv.code, byEnv.stderr).toBe(0)
    expect(byEnv.stdout).toMatch(/Received: +1 /)
    const byFlag = await relay.command(['dlq', 'list', '--token', token!])
    expect(byFlag.code, byFlag.stderr).toBe(0)
    const without = await relay.command(['status'])
    expect(without.code).toBe(1)
    expect(without.stderr).toMatch(/admin token: pass --token or set CSB_RELAY_ADMIN_TOKEN/)

    await relay.stop()
    // Printed once; the store has its hash, never the token.
    expect(output(relay.cli).split(token!).length - 1).toBe(1)
    const files = storeFiles(dir)
    expect(files.includes(token!)).toBe(false)
    expect(files.includes(`sha256:${createHash('sha256').update(token!).digest('hex')}`)).toBe(true)
  })

  it('on a later start with the same store, prints no token and still requires the one made', async () => {
    const relay = await startIsolated(db)
    running.push(relay)
    expect(output(relay.cli)).not.toMatch(TOKEN_LINE)
    expect(output(relay.cli)).toMatch(/Admin access: with the token generated earlier .*--new-admin-token/)
    const answers = await relay.requests([{ path: '/api/config' }, { path: '/api/config', token: generated }])
    expect(answers.map((a) => a.status)).toEqual([401, 200])
    await relay.stop()
  })

  it('keeps requiring it on loopback; --new-admin-token replaces it, and the CLI sends the new one', async () => {
    const relay = await startRelayProcess({ db, args: ['--host', '127.0.0.1'], env: { CSB_RELAY_WRITE_KEYS: WRITE_KEY } })
    running.push(relay)
    expect(relay.stdout()).not.toMatch(TOKEN_LINE)
    const get = (token?: string) => fetch(`${relay.url}/api/config`, { headers: token ? { authorization: `Bearer ${token}` } : {} }).then((r) => r.status)
    expect([await get(), await get(generated)]).toEqual([401, 200])
    await relay.stop()

    const renewed = await startRelayProcess({ db, args: ['--host', '127.0.0.1', '--new-admin-token'], env: { CSB_RELAY_WRITE_KEYS: WRITE_KEY } })
    running.push(renewed)
    const token = renewed.stdout().match(TOKEN_LINE)?.[1]
    expect(token).toMatch(/^at_/)
    expect(token).not.toBe(generated)
    expect(renewed.stdout()).toMatch(/new admin token was made .*no longer works/)
    const status = (t?: string) => fetch(`${renewed.url}/api/config`, { headers: t ? { authorization: `Bearer ${t}` } : {} }).then((r) => r.status)
    expect([await status(), await status(generated), await status(token)]).toEqual([401, 401, 200])
    const cli = runCli(['status', '--url', renewed.url], { env: { CSB_RELAY_ADMIN_TOKEN: token } })
    expect((await cli.exited).code, cli.stderr()).toBe(0)
    await renewed.stop()
  })

  it('a configured CSB_RELAY_ADMIN_TOKEN wins over the generated one, and cannot be renewed by flag', async () => {
    const configured = 'configured-admin-token-31337'
    const relay = await startRelayProcess({ db, args: ['--host', '127.0.0.1'], env: { CSB_RELAY_WRITE_KEYS: WRITE_KEY, CSB_RELAY_ADMIN_TOKEN: configured } })
    running.push(relay)
    expect(relay.stdout()).not.toMatch(TOKEN_LINE)
    expect(relay.stdout()).toMatch(/Admin access: with the token set by CSB_RELAY_ADMIN_TOKEN/)
    const status = (t: string) => fetch(`${relay.url}/api/config`, { headers: { authorization: `Bearer ${t}` } }).then((r) => r.status)
    expect([await status(configured), await status(generated)]).toEqual([200, 401])
    await relay.stop()

    const refused = runCli(['start', '--port', '0', '--db', db, '--new-admin-token'], { env: { CSB_RELAY_ADMIN_TOKEN: configured } })
    expect((await refused.exited).code).toBe(2)
    expect(refused.stderr()).toMatch(/--new-admin-token: the admin token is set by CSB_RELAY_ADMIN_TOKEN/)
  })
})
