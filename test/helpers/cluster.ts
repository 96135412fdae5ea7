/**
 * Pieces for multi-instance tests: the sandbox as its own process (read over /_sandbox/requests),
 * relay instances (the built CLI) on one database, and what each has delivered.
 * Build first: `npx tsc -p tsconfig.build.json`.
 */
import fs from 'node:fs'
import path from 'node:path'
import { runCli, startRelayProcess, type CliProcess, type RelayProcess } from './processes'
import { tempDir } from './temp'
import type { RecordedRequest } from '../../src/sandbox'

export interface SandboxProcess extends CliProcess {
  url: string
  apiKey: string
  /** Every request recorded so far (fetched incrementally, oldest first). */
  recording(): Promise<RecordedRequest[]>
}

/** `csb-relay sandbox --port 0 --quiet` with the given flags (e.g. ['--latency', 'uniform:5:20']). */
export async function startSandboxProcess(flags: string[] = []): Promise<SandboxProcess> {
  const cli = runCli(['sandbox', '--port', '0', '--quiet', ...flags])
  try {
    const url = (await cli.waitForOutput(/listening on (http:\/\/\S+)/))[1]!
    const apiKey = (await cli.waitForOutput(/API key: (\S+)/))[1]!
    const seen: RecordedRequest[] = []
    const recording = async () => {
      for (;;) {
        const since = seen.length > 0 ? seen[seen.length - 1]!.seq : 0
        const res = await fetch(`${url}/_sandbox/requests?since=${since}&limit=5000`)
        if (res.status !== 200) throw new Error(`sandbox recording: HTTP ${res.status} ${await res.text()}`)
        const page = (await res.json()) as RecordedRequest[]
        seen.push(...page)
        if (page.length < 5000) return seen
      }
    }
    return { ...cli, url, apiKey, recording }
  } catch (err) {
    await cli.stop('SIGKILL')
    throw err
  }
}

export interface InstanceOptions {
  db: string
  sandbox?: { url: string; apiKey: string }
  writeKey: string
  /** Written to a JSON config file passed with --config. */
  config?: Record<string, unknown>
}

export interface Instance extends RelayProcess {
  /** The process id: the relay's delivery instance id (lease owner). */
  pid: number
}

/** `csb-relay start --port 0 --db DB --config FILE` with the write key and CSB settings in its environment. */
export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const dir = tempDir('csb-scale-')
  const configFile = path.join(dir, 'config.json')
  fs.writeFileSync(configFile, JSON.stringify(options.config ?? {}))
  const env: Record<string, string> = { CSB_RELAY_WRITE_KEYS: options.writeKey, LOG_LEVEL: 'warn' }
  if (options.sandbox) {
    env.CSB_API_KEY = options.sandbox.apiKey
    env.CSB_BASE_URL = options.sandbox.url
  }
  const relay = await startRelayProcess(['--db', options.db, '--config', configFile], { env, cwd: dir })
  return { ...relay, pid: relay.child.pid! }
}

/** Sum of `csb_relay_delivery_outcomes_total{outcome="delivered"}` on one instance's /metrics. */
export async function deliveredBy(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith('csb_relay_delivery_outcomes_total{') && line.includes('outcome="delivered"')) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1))
    }
  }
  return sum
}
