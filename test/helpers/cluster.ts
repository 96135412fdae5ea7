/**
 * Relay instances for multi-instance tests: the built CLI, separate processes on one database,
 * delivering to a sandbox process (startSandboxProcess), and what each has delivered.
 * Build first: `npm run build`.
 */
import { startRelayProcess, type RelayProcess } from './processes'

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
  const env: Record<string, string> = { CSB_RELAY_WRITE_KEYS: options.writeKey, LOG_LEVEL: 'warn' }
  if (options.sandbox) {
    env.CSB_API_KEY = options.sandbox.apiKey
    env.CSB_BASE_URL = options.sandbox.url
  }
  const relay = await startRelayProcess({ db: options.db, config: options.config ?? {}, env })
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
