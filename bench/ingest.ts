/**
 * Ingest throughput against a bare fastify server that reads and JSON-parses the same bodies and
 * discards them. Both run as separate processes on loopback; one load generator (this process:
 * keep-alive agent, closed loop) drives both with the same requests and the same connection
 * counts, bounded in time and count, at each of several levels (connections), alternating the two
 * in short slices. Scenarios: single-event requests, 100-event batches (/v1/batch) and 100-event
 * arrays signed as Segment's Webhooks (Actions) destination signs them (/v1/webhook).
 *
 * The headline is the sustained rate: events accepted AND moved into the relay's queue, ready to
 * deliver, per second. Each relay slice is timed from its first request until the relay's
 * /metrics show nothing admitted and waiting and every event accepted so far queued. The
 * acceptance-only rate (answered 200, committed to the inbox) follows, judged against its targets
 * (batches and webhook arrays >= 50% of bare, single events >= 40%, peak against peak; the relay's
 * webhook peak within 10% of its batch peak).
 *
 * Why several levels: a closed loop with C connections measures C / latency for a server whose
 * answer waits on the disk. The relay answers only after its commit is synced, so at 32
 * connections it waits with CPU to spare, while the bare server (no disk) is already at its peak
 * there; each server's peak is compared, and every level is printed.
 *
 *   npm run bench:ingest            (builds first)
 *   BENCH_SECONDS=8 BENCH_CONCURRENCY=32,256 npm run bench:ingest
 *   BENCH_SCENARIOS=batch,webhook npx tsx bench/ingest.ts
 *   npx tsx bench/ingest.ts --quick                  (a smoke check of seconds; or BENCH_QUICK=1)
 *   npx tsx bench/ingest.ts --dist ../base/dist      (another checkout's relay; or BENCH_DIST)
 *   BENCH_PROFILE=/tmp/prof BENCH_SCENARIOS=batch npx tsx bench/ingest.ts   (relay under --cpu-prof)
 *   BENCH_DB_DIR=/dev/shm npx tsx bench/ingest.ts   (store on tmpfs: fsync costs nothing; shows the disk's share)
 */
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { openDist } from './lib/dist'
import { commonArgs, setting } from './lib/options'
import type { Proc } from './lib/processes'
import { loadLine, machineLine } from './lib/report'
import { networkError, post } from './ingest/load'
import { measure, type AcceptedCount, type MeasureSettings } from './ingest/measure'
import { printResults, TARGETS, type Results } from './ingest/report'
import { body, type Scenario } from './ingest/requests'
import { startBare, startRelay, untilQueued } from './ingest/servers'

const env = process.env
const { dist: distDir, quick } = commonArgs()
const LEVELS = (env.BENCH_CONCURRENCY ?? (quick ? '32' : '32,64,128')).split(',').map(Number)
if (LEVELS.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`BENCH_CONCURRENCY must be positive integers separated by commas, got ${env.BENCH_CONCURRENCY}`)
const SETTINGS: MeasureSettings = {
  seconds: setting('BENCH_SECONDS', env.BENCH_SECONDS, { full: 6, short: 0.4 }, quick, 0.01),
  rounds: setting('BENCH_ROUNDS', env.BENCH_ROUNDS, { full: 6, short: 1 }, quick, 1),
  levels: LEVELS,
  // A quick run caps every slice at a few hundred requests, so the relay's move stays short.
  maxRequests: setting('BENCH_MAX_REQUESTS', env.BENCH_MAX_REQUESTS, { full: 200_000, short: 300 }, quick, 1),
  warmUpSeconds: quick ? 0.2 : 1
}
const SCENARIOS = (env.BENCH_SCENARIOS ?? 'single,batch,webhook').split(',') as Scenario[]
if (SCENARIOS.some((s) => !(s in TARGETS))) throw new Error(`BENCH_SCENARIOS must be among ${Object.keys(TARGETS).join(', ')}, got ${env.BENCH_SCENARIOS}`)

/** Whether the relay takes signed webhook arrays (a relay built before /v1/webhook answers 404). */
async function takesWebhooks(relay: Proc, accepted: AcceptedCount): Promise<boolean> {
  const agent = new http.Agent({ keepAlive: false })
  const probe = body('webhook')
  const status = await post(new URL(relay.url), agent, probe)
  agent.destroy()
  if (status === 200) accepted.total += probe.events
  else if (status !== 404) throw new Error(`relay answered ${status} to a signed webhook array`)
  await untilQueued(relay, accepted.total)
  return status === 200
}

async function main(): Promise<void> {
  const dist = openDist(distDir)
  const dir = fs.mkdtempSync(path.join(env.BENCH_DB_DIR ?? os.tmpdir(), 'csb-relay-bench-'))
  const profile = env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_PROFILE}`] : []
  const bare = await startBare()
  const relay = await startRelay(dist, dir, profile).catch(async (err) => {
    await bare.stop()
    throw err
  })
  const results: Results = {}
  const accepted: AcceptedCount = { total: 0 }
  try {
    const { seconds, rounds, warmUpSeconds } = SETTINGS
    console.log(`ingest bench${quick ? ' (quick: a smoke check, not a measurement)' : ''}: ${LEVELS.join(', ')} concurrent keep-alive connections (closed loop), ${seconds} s per server, scenario and level in ${rounds} alternating slices after ${warmUpSeconds} s warm-up, loopback`)
    console.log(dist.describe())
    console.log(`store: ${path.join(dir, 'bench.db')}`)
    console.log(machineLine())
    let scenarios = SCENARIOS
    if (scenarios.includes('webhook') && !(await takesWebhooks(relay, accepted))) {
      console.log('webhook arrays: skipped, this relay answers 404 on /v1/webhook (built before it took them)')
      scenarios = scenarios.filter((s) => s !== 'webhook')
    }
    for (const scenario of scenarios) results[scenario] = await measure(bare, relay, scenario, SETTINGS, accepted)
  } finally {
    await relay.stop()
    await bare.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const { missed, errors } = printResults(results)
  console.log('')
  console.log(loadLine())
  if (networkError()) console.log(`first network error: ${networkError()!.message}`)
  // A quick run is a smoke check: its figures are not judged, only its failed requests.
  process.exitCode = errors > 0 || (missed && !quick) ? 1 : 0
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
