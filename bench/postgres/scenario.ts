/**
 * One bench/postgres.ts scenario on a fresh store: N relay instances ingest (CSB not configured,
 * so events are held), then restart with CSB pointing at the sandbox and deliver the backlog.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Dist } from '../lib/dist'
import { sumOver } from '../lib/metrics'
import { relayEnv, startProcess, type Proc } from '../lib/processes'
import { median } from '../lib/report'
import type { SandboxProcess } from '../lib/sandbox'
import { ingest, WRITE_KEY, type LoadSettings } from './load'

export interface ScenarioSettings extends LoadSettings {
  rounds: number
  concurrency: number
}

export interface Result {
  name: string
  ingestPerSecond: number
  deliveryPerSecond: number
  /** Relay CPU (all instances, user + system) per event, in ms. */
  ingestCpuMs: number
  deliveryCpuMs: number
  detail: string
}

/** Delivery rates are taken over windows this long; the first is warm-up. */
const WINDOW_MS = 5000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function startRelay(dist: Dist, db: string, dir: string, concurrency: number, sandbox: SandboxProcess | null): Promise<Proc> {
  const config = {
    ingest: { maxBacklog: 10_000_000 },
    delivery: { maxConcurrency: concurrency, initialConcurrency: concurrency, adaptive: false, pollIntervalMs: 10 }
  }
  const file = path.join(dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify(config))
  const env: Record<string, string> = { CSB_RELAY_WRITE_KEYS: WRITE_KEY }
  if (sandbox) Object.assign(env, { CSB_API_KEY: sandbox.apiKey, CSB_BASE_URL: sandbox.url })
  return startProcess('relay', dist.cli(['start', '--port', '0', '--db', db, '--config', file]), { env: relayEnv(env) })
}

const deliveredSum = (relays: Proc[]) => sumOver(relays, 'csb_relay_delivery_outcomes_total', 'outcome="delivered"')
/** CPU seconds the relay processes used (user + system), from their own process metrics. */
const cpuSum = (relays: Proc[]) => sumOver(relays, 'csb_relay_process_cpu_seconds_total')

export async function runScenario(name: string, instances: number, db: string, dist: Dist, sandbox: SandboxProcess, settings: ScenarioSettings): Promise<Result> {
  const dirs = Array.from({ length: instances }, () => fs.mkdtempSync(path.join(os.tmpdir(), 'csb-bench-pg-')))
  let relays: Proc[] = []
  try {
    // Ingest: no CSB settings, so nothing is delivered meanwhile. The first instance migrates.
    for (const dir of dirs) relays.push(await startRelay(dist, db, dir, settings.concurrency, null))
    // Several rounds, the median counts: the machine may be shared, and a round is short.
    const ingestCpu0 = await cpuSum(relays)
    const rounds: Array<{ accepted: number; seconds: number }> = []
    for (let r = 0; r < settings.rounds; r++) rounds.push(await ingest(relays.map((relay) => relay.url), settings))
    const ingestCpu = (await cpuSum(relays)) - ingestCpu0
    const accepted = rounds.reduce((a, r) => a + r.accepted, 0)
    const ingestRates = rounds.map((r) => r.accepted / r.seconds)
    await Promise.all(relays.map((r) => r.stop()))

    // Delivery: restart with CSB set; from "all up" to "all delivered" or the time bound. The
    // figure is the median of the windows' rates after the first (the mean over the phase is printed too).
    relays = await Promise.all(dirs.map((d) => startRelay(dist, db, d, settings.concurrency, sandbox)))
    const t0 = performance.now()
    const [d0, deliveryCpu0] = [await deliveredSum(relays), await cpuSum(relays)]
    let delivered = d0
    let windowStart = { at: t0, delivered: d0 }
    const windowRates: number[] = []
    while (delivered < accepted && performance.now() - t0 < settings.maxSeconds * 1000) {
      await sleep(100)
      delivered = await deliveredSum(relays)
      const now = performance.now()
      if (now - windowStart.at >= WINDOW_MS) {
        windowRates.push(((delivered - windowStart.delivered) * 1000) / (now - windowStart.at))
        windowStart = { at: now, delivered }
      }
    }
    const seconds = (performance.now() - t0) / 1000
    const meanDelivery = (delivered - d0) / seconds
    const deliveryCpu = (await cpuSum(relays)) - deliveryCpu0
    // Store round trips of delivery (over the whole phase): how many lease calls per delivered
    // event, and their mean duration, show contention between instances.
    const op = async (operation: string) => {
      const having = `operation="${operation}"`
      const count = await sumOver(relays, 'csb_relay_store_operation_seconds_count', having)
      const sum = await sumOver(relays, 'csb_relay_store_operation_seconds_sum', having)
      return `${operation} ${(count / Math.max(1, delivered)).toFixed(2)}/event, ${count > 0 ? ((sum / count) * 1000).toFixed(1) : '-'} ms mean`
    }
    const storeOps = `${await op('lease')}; ${await op('complete')}`
    await Promise.all(relays.map((r) => r.stop()))
    // Errors the relays logged (LOG_LEVEL=warn) would explain odd figures: show the first of each.
    for (const [i, r] of relays.entries()) {
      const problem = r.output().split('\n').find((line) => /"level":(40|50|60)/.test(line))
      if (problem) console.log(`${name}, instance ${i + 1} logged: ${problem.slice(0, 400)}`)
    }
    return {
      name,
      ingestPerSecond: median(ingestRates),
      // The first window is warm-up (connections, JIT, the first leases) unless it is the only one.
      deliveryPerSecond: windowRates.length > 1 ? median(windowRates.slice(1)) : windowRates.length === 1 ? windowRates[0]! : meanDelivery,
      ingestCpuMs: (ingestCpu * 1000) / accepted,
      deliveryCpuMs: (deliveryCpu * 1000) / Math.max(1, delivered - d0),
      detail:
        `ingest rounds ${ingestRates.map((r) => Math.round(r)).join(', ')} ev/s (${accepted} events); ` +
        `delivered ${delivered - d0} in ${seconds.toFixed(1)} s, mean ${Math.round(meanDelivery)} ev/s, ` +
        `relay CPU ${(deliveryCpu / seconds).toFixed(2)} cores, ` +
        `${WINDOW_MS / 1000} s windows ${windowRates.length > 0 ? `${windowRates.map((r) => Math.round(r)).join(', ')} ev/s` : 'none (the phase was shorter)'}; store calls: ${storeOps}`
    }
  } finally {
    await Promise.all(relays.map((r) => r.stop('SIGKILL')))
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  }
}
