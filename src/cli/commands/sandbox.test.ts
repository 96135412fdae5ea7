import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseSandboxFlags } from './sandbox'

const root = path.resolve(__dirname, '../../..')
const bin = path.join(root, 'bin/csb-relay.js')

/** Builds dist/ when the compiled sandbox is missing or older than its sources. */
function ensureBuilt(): void {
  const built = path.join(root, 'dist/cli/commands/sandbox.js')
  const sources = [path.join(root, 'src/cli/commands/sandbox.ts'), ...fs.readdirSync(path.join(root, 'src/sandbox')).filter((f) => f.endsWith('.ts')).map((f) => path.join(root, 'src/sandbox', f))]
  const builtAt = fs.existsSync(built) ? fs.statSync(built).mtimeMs : 0
  if (sources.every((file) => fs.statSync(file).mtimeMs <= builtAt)) return
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' })
}

interface Running {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exit: Promise<number | null>
}

const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
})

function launch(args: string[]): Running {
  const child = spawn(process.execPath, [bin, 'sandbox', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  let err = ''
  child.stdout!.on('data', (chunk) => (out += chunk))
  child.stderr!.on('data', (chunk) => (err += chunk))
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, stdout: () => out, stderr: () => err, exit }
}

async function waitFor<T>(get: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = get()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('csb-relay sandbox (process)', () => {
  beforeAll(ensureBuilt, 120_000)

  it('starts, prints the URL, key and env lines, answers, logs each request, and exits 0 on SIGTERM', async () => {
    const run = launch(['--port', '0', '--api-key', 'cli-key', '--throttle-rate', '0'])
    const port = await waitFor(() => run.stdout().match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1], 'the listening line')
    const url = `http://127.0.0.1:${port}`
    expect(run.stdout()).toContain('API key: cli-key')
    expect(run.stdout()).toContain(`CSB_BASE_URL=${url} CSB_API_KEY=cli-key`)

    const ok = await fetch(`${url}/api/v1_1/account`, { method: 'POST', headers: { authorization: 'Bearer cli-key' }, body: '{"account_id":"a1"}' })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ success: true })
    const denied = await fetch(`${url}/api/v1_1/account`, { method: 'POST', body: '{"account_id":"a1"}' })
    expect(denied.status).toBe(401)
    const recorded = (await (await fetch(`${url}/_sandbox/requests`)).json()) as Array<{ path: string; status: number }>
    expect(recorded.map((r) => r.status)).toEqual([200, 401])
    await waitFor(() => (run.stdout().includes('POST /api/v1_1/account 401') ? true : undefined), 'the request log lines')
    expect(run.stdout()).toContain('POST /api/v1_1/account 200\n')

    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
  })

  it('applies fault flags from the start and stays quiet with --quiet; SIGINT exits 0', async () => {
    const run = launch(['--port', '0', '--error-rate', '1', '--error-status', '503', '--quiet'])
    const port = await waitFor(() => run.stdout().match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1], 'the listening line')
    const answer = await fetch(`http://127.0.0.1:${port}/api/v1_1/account`, { method: 'POST', headers: { authorization: 'Bearer sandbox-key' }, body: '{"account_id":"a1"}' })
    expect(answer.status).toBe(503)
    const faults = (await (await fetch(`http://127.0.0.1:${port}/_sandbox/faults`)).json()) as { errors: Record<string, number> }
    expect(faults.errors).toEqual({ '503': 1 })
    run.child.kill('SIGINT')
    expect(await run.exit).toBe(0)
    expect(run.stdout()).not.toContain('POST /api/v1_1/account')
  })

  it('rejects a bad flag with exit 2 and a message naming the flag and what it accepts', async () => {
    const bad = launch(['--port', '0', '--error-rate', 'lots'])
    expect(await bad.exit).toBe(2)
    expect(bad.stderr()).toContain('--error-rate: expected a number from 0 to 1, got "lots"')
    const unknown = launch(['--latencyy', '5'])
    expect(await unknown.exit).toBe(2)
    expect(unknown.stderr()).toMatch(/Unknown option '--latencyy'.*--help/)
  })
})

describe('sandbox flags', () => {
  it('defaults to port 8081 on 127.0.0.1 with no faults', () => {
    expect(parseSandboxFlags([])).toMatchObject({ port: 8081, host: '127.0.0.1', apiKey: undefined, quiet: false, faults: {} })
  })

  it('turns fault flags into the faults object', () => {
    const flags = parseSandboxFlags([
      '--latency', 'normal:20:5', '--error-rate', '0.2', '--error-status', '500,503', '--throttle-rate', '0.1', '--retry-after', '3',
      '--rate-limit', '100', '--burst', '20', '--drop-rate', '0.01', '--outage', '5', '--outage-status', '502'
    ])
    expect(flags.faults).toEqual({
      latency: { distribution: 'normal', meanMs: 20, stdDevMs: 5 },
      errors: { '500': 0.1, '503': 0.1 },
      throttle: { rate: 0.1, retryAfterSeconds: 3 },
      rateLimit: { perSecond: 100, burst: 20, retryAfterSeconds: 3 },
      dropRate: 0.01,
      outage: { seconds: 5, mode: 'status', status: 502, retryAfterSeconds: 3 }
    })
    expect(parseSandboxFlags(['--latency', '20']).faults.latency).toBe(20)
    expect(parseSandboxFlags(['--faults', '{"dropRate": 0.5}', '--latency', '1']).faults).toEqual({ dropRate: 0.5, latency: 1 })
  })

  it('names the flag and what it accepts when a value is wrong', () => {
    expect(() => parseSandboxFlags(['--latency', 'uniform:9:1'])).toThrow(/--latency: expected MS, uniform:MIN:MAX/)
    expect(() => parseSandboxFlags(['--error-status', '503'])).toThrow('--error-status: needs --error-rate')
    expect(() => parseSandboxFlags(['--error-rate', '0.1', '--error-status', '200'])).toThrow(/--error-status: expected status codes from 400 to 599/)
    expect(() => parseSandboxFlags(['--outage-mode', 'refuse'])).toThrow(/need --outage SECONDS/)
    expect(() => parseSandboxFlags(['--outage', '3', '--outage-mode', 'nap'])).toThrow('--outage-mode: expected status or refuse, got "nap"')
    expect(() => parseSandboxFlags(['--rate-limit', '0'])).toThrow(/--rate-limit: expected a number/)
    expect(() => parseSandboxFlags(['--faults', '[1]'])).toThrow(/--faults: expected a JSON object/)
    expect(() => parseSandboxFlags(['extra'])).toThrow(/Unexpected argument 'extra'/)
  })
})
