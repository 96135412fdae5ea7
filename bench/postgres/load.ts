/** Ingest load for bench/postgres.ts: 100-event batches over keep-alive connections, spread over the instances. */
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { basicAuth } from '../../test/helpers/http'
import { post } from '../ingest/load'

export const BATCH = 100
/** A write key of this run's own, so a relay's log never shows a fixed one. */
export const WRITE_KEY = `wk_bench_${randomBytes(6).toString('hex')}`
const AUTH = basicAuth(WRITE_KEY)

export interface LoadSettings {
  events: number
  clients: number
  users: number
  maxSeconds: number
}

function batchBody(b: number, users: number): string {
  const now = new Date().toISOString()
  const batch = Array.from({ length: BATCH }, (_, i) => {
    const n = b * BATCH + i
    return {
      type: 'track',
      messageId: `${WRITE_KEY}-${n}-${randomBytes(4).toString('hex')}`,
      userId: `user-${n % users}`,
      event: 'Report Exported',
      properties: { account_id: `acc-${n % 97}`, format: 'csv', rows: n % 1000 },
      context: { library: { name: 'analytics-node', version: '3.1.0' } },
      timestamp: now
    }
  })
  return JSON.stringify({ batch })
}

/** `clients` connections post batches, alternating between `targets`, until `events` are accepted or the time bound; any answer but 200 fails the run. */
export async function ingest(targets: string[], settings: LoadSettings): Promise<{ accepted: number; seconds: number }> {
  const agents = targets.map(() => new http.Agent({ keepAlive: true, maxSockets: settings.clients }))
  const totalBatches = Math.ceil(settings.events / BATCH)
  let next = 0
  let accepted = 0
  const started = performance.now()
  const deadline = started + settings.maxSeconds * 1000
  const client = async (c: number) => {
    for (let b = next++; b < totalBatches && performance.now() < deadline; b = next++) {
      const t = (b + c) % targets.length
      const payload = batchBody(b, settings.users)
      const status = await post(new URL(targets[t]!), agents[t]!, { path: '/v1/batch', payload, events: BATCH, headers: { authorization: AUTH } })
      if (status !== 200) throw new Error(`ingest: HTTP ${status || 'network error'} from ${targets[t]}`)
      accepted += BATCH
    }
  }
  try {
    await Promise.all(Array.from({ length: settings.clients }, (_, c) => client(c)))
  } finally {
    agents.forEach((a) => a.destroy())
  }
  return { accepted, seconds: (performance.now() - started) / 1000 }
}
