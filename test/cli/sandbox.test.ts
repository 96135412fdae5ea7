/** `csb-relay sandbox` as a user runs it: the built CLI, a child process. Build first: `npm run build`. */
import { afterEach, describe, expect, it } from 'vitest'
import { runCli, type CliProcess } from '../helpers/processes'
import { waitFor } from '../helpers/wait'

const running: CliProcess[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')))
})

function sandbox(args: string[]): CliProcess {
  const cli = runCli(['sandbox', ...args])
  running.push(cli)
  return cli
}

describe('csb-relay sandbox (process)', () => {
  it('starts, prints the URL, key and env lines, answers, logs each request, and exits 0 on SIGTERM', async () => {
    const run = sandbox(['--port', '0', '--api-key', 'cli-key', '--throttle-rate', '0'])
    const port = await waitFor('the listening line', () => run.stdout().match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1])
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
    await waitFor('the request log lines', () => (run.stdout().includes('POST /api/v1_1/account 401') ? true : undefined))
    expect(run.stdout()).toContain('POST /api/v1_1/account 200\n')

    run.child.kill('SIGTERM')
    expect((await run.exited).code).toBe(0)
  })

  it('applies fault flags from the start and stays quiet with --quiet; SIGINT exits 0', async () => {
    const run = sandbox(['--port', '0', '--error-rate', '1', '--error-status', '503', '--quiet'])
    const port = await waitFor('the listening line', () => run.stdout().match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1])
    const answer = await fetch(`http://127.0.0.1:${port}/api/v1_1/account`, { method: 'POST', headers: { authorization: 'Bearer sandbox-key' }, body: '{"account_id":"a1"}' })
    expect(answer.status).toBe(503)
    const faults = (await (await fetch(`http://127.0.0.1:${port}/_sandbox/faults`)).json()) as { errors: Record<string, number> }
    expect(faults.errors).toEqual({ '503': 1 })
    run.child.kill('SIGINT')
    expect((await run.exited).code).toBe(0)
    expect(run.stdout()).not.toContain('POST /api/v1_1/account')
  })

  it('rejects a bad flag with exit 2 and a message naming the flag and what it accepts', async () => {
    const bad = sandbox(['--port', '0', '--error-rate', 'lots'])
    expect((await bad.exited).code).toBe(2)
    expect(bad.stderr()).toContain('--error-rate: expected a number from 0 to 1, got "lots"')
    const unknown = sandbox(['--latencyy', '5'])
    expect((await unknown.exited).code).toBe(2)
    expect(unknown.stderr()).toMatch(/Unknown option '--latencyy'.*--help/)
  })
})
