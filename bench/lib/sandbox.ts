/** The sandbox (the local CSB) as its own process, from this checkout's dist, whichever relay runs. */
import { openDist, OWN_DIST } from './dist'
import { relayEnv, startProcess, type Proc } from './processes'

export interface SandboxProcess extends Proc {
  apiKey: string
}

/** `csb-relay sandbox` answering every request after `latencyMs`, quiet, keeping few requests in memory. */
export async function startSandbox(latencyMs: number): Promise<SandboxProcess> {
  const args = ['sandbox', '--port', '0', '--latency', String(latencyMs), '--quiet', '--record-limit', '1000']
  const proc = await startProcess('sandbox', openDist(OWN_DIST).cli(args), { env: relayEnv() })
  // The key is printed on the line after the address.
  await new Promise((r) => setTimeout(r, 50))
  return { ...proc, apiKey: /API key: (\S+)/.exec(proc.output())?.[1] ?? 'sandbox-key' }
}

/** Mean round trip of one CSB request to the sandbox, one at a time, in ms (the latency in a delivery bound). */
export async function measureRoundTrip(sandbox: SandboxProcess, n = 50): Promise<number> {
  const body = JSON.stringify({ account_id: 'a', user_id: 'u' })
  const headers = { authorization: `Bearer ${sandbox.apiKey}`, 'content-type': 'application/json' }
  const started = performance.now()
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${sandbox.url}/api/v1_1/user`, { method: 'POST', headers, body })
    await res.text()
  }
  return (performance.now() - started) / n
}
