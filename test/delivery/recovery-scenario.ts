/**
 * The recovery scenario (docs/delivery.md, "Recovery after an outage"), shared by
 * recovery.test.ts and bench/recovery.ts: the built relay (dist/) with its default backoff,
 * delivering to an in-process sandbox. A 503 outage begins, events arrive and are held through
 * it, the outage ends; measured: how long after its end the last event reaches CSB, and how many
 * requests the relay made while it lasted.
 */
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { accepted, waitFor } from './helpers'
import { postBatch, startRelayProcess, tempDir, type RelayProcess } from './relay-process'

const WRITE_KEY = 'recovery-write-key'
/** Events per request to the relay. */
const BATCH = 500

export interface RecoveryScenario {
  /** delivery.wakeOnRecovery for this run. */
  wakeOnRecovery: boolean
  /** Distinct users (ordering keys), each sending `perUser` track events. */
  users: number
  perUser: number
  outageSeconds: number
}

export interface RecoveryResult {
  events: number
  /** From the outage's end to CSB accepting the last event, in ms. */
  drainMs: number
  /** Requests the relay sent while the outage lasted (each answered 503). */
  outageAttempts: number
  /** The relay logged that it made retries due (recovery.ts). */
  recovered: boolean
}

export function describeRun(label: string, r: RecoveryResult): string {
  return `${label}: ${r.events} events, drained ${(r.drainMs / 1000).toFixed(1)} s after the outage ended; ${r.outageAttempts} attempts during the outage (${(r.outageAttempts / r.events).toFixed(2)} per event)`
}

export async function runRecoveryScenario(scenario: RecoveryScenario): Promise<RecoveryResult> {
  const sandbox: Sandbox = await startSandbox({ port: 0 })
  let relay: RelayProcess | undefined
  try {
    relay = await startRelayProcess({
      dir: tempDir('csb-recovery-'),
      env: { CSB_RELAY_WRITE_KEYS: WRITE_KEY, CSB_API_KEY: sandbox.apiKey, CSB_BASE_URL: sandbox.url, LOG_LEVEL: 'info' },
      config: { delivery: { wakeOnRecovery: scenario.wakeOnRecovery } }
    })
    sandbox.setFaults({ outage: { seconds: scenario.outageSeconds, status: 503 } })
    const outageEnds = Date.parse(sandbox.faults().outage?.endsAt ?? '')
    if (Number.isNaN(outageEnds)) throw new Error('the sandbox shows no outage end (faults().outage.endsAt)')
    const events = []
    for (let i = 0; i < scenario.perUser; i++) {
      for (let u = 0; u < scenario.users; u++) {
        events.push({ type: 'track', userId: `user-${u}`, event: `Step ${i}`, properties: { account_id: 'acc-recovery' } })
      }
    }
    for (let i = 0; i < events.length; i += BATCH) {
      const res = await postBatch(relay.url, WRITE_KEY, events.slice(i, i + BATCH))
      if (res.status !== 200) throw new Error(`the relay answered ${res.status} to a batch`)
    }
    const s = sandbox
    await waitFor(`${events.length} delivered`, () => accepted(s, '/api/v1_1/feature').length >= events.length, scenario.outageSeconds * 1000 + 120_000)
    const requests = sandbox.requests()
    const lastAccepted = Math.max(...accepted(sandbox).map((q) => Date.parse(q.at)))
    return {
      events: events.length,
      drainMs: lastAccepted - outageEnds,
      outageAttempts: requests.filter((q) => q.fault === 'outage').length,
      recovered: relay.output().includes('its retries are due now')
    }
  } finally {
    await relay?.stop('SIGKILL')
    await sandbox.close()
  }
}
