/**
 * Scale-out benchmark: ingest and delivery throughput of the built relay (`csb-relay start`,
 * separate processes) with one and two instances on PostgreSQL, beside one on SQLite, in one run.
 *
 *   npm run bench:postgres                     (builds first)
 *   npx tsx bench/postgres.ts [--events N] [--rounds N] [--latency MS] [--concurrency N] [--clients N]
 *     [--seconds S] [--users N] [--dist PATH] [--quick]
 *
 * Uses CSB_RELAY_TEST_PG when set (each scenario gets its own database), else starts a throwaway
 * PostgreSQL with scripts/pg-throwaway.sh and stops it at the end. Loopback only.
 *
 * Per scenario, on a fresh store:
 * - ingest: the instances run without CSB settings (events are stored and held); `--clients`
 *   keep-alive connections post 100-event batches to /v1/batch, alternating between the
 *   instances, until `--events` are accepted or `--seconds` pass; `--rounds` times (default 3).
 *   Accepted events/s, the median of the rounds.
 * - delivery: the instances restart with CSB pointing at the sandbox process (fixed latency
 *   `--latency`, default 20 ms) and `--concurrency` requests in flight per instance (default 64,
 *   not adaptive). Delivered events/s (the sum of the instances' delivered counters) from the
 *   moment every instance is up until the backlog is delivered or `--seconds` pass; the median of
 *   the rates in 5-second windows after the first (warm-up), or the mean when the phase is shorter.
 *
 * --dist PATH (or BENCH_DIST) runs another checkout's built relay (the sandbox stays this
 * checkout's); --quick (or BENCH_QUICK=1) shortens everything to a smoke check.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { openDist } from './lib/dist'
import { COMMON_OPTIONS, setting } from './lib/options'
import { postgres } from './lib/pg'
import { loadLine, machineLine } from './lib/report'
import { startSandbox } from './lib/sandbox'
import { BATCH } from './postgres/load'
import { runScenario, type Result, type ScenarioSettings } from './postgres/scenario'

const { values: args } = parseArgs({
  options: {
    ...COMMON_OPTIONS,
    events: { type: 'string' },
    latency: { type: 'string' },
    concurrency: { type: 'string' },
    clients: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    users: { type: 'string' }
  }
})
const quick = args.quick ?? false
const LATENCY_MS = setting('--latency', args.latency, { full: 20, short: 20 }, quick)
const SETTINGS: ScenarioSettings = {
  events: setting('--events', args.events, { full: 20_000, short: 300 }, quick, BATCH),
  clients: setting('--clients', args.clients, { full: 8, short: 8 }, quick, 1),
  users: setting('--users', args.users, { full: 2000, short: 2000 }, quick, 1),
  maxSeconds: setting('--seconds', args.seconds, { full: 45, short: 20 }, quick, 1),
  rounds: setting('--rounds', args.rounds, { full: 3, short: 1 }, quick, 1),
  concurrency: setting('--concurrency', args.concurrency, { full: 64, short: 64 }, quick, 1)
}

function printResults(results: Result[]): void {
  const w = Math.max(...results.map((r) => r.name.length))
  const cols = ['ingest ev/s', 'delivery ev/s', 'relay CPU ms/ev ingest', 'relay CPU ms/ev delivery']
  console.log([`${'store'.padEnd(w)}`, ...cols].join('  '))
  for (const r of results) {
    const cells = [Math.round(r.ingestPerSecond), Math.round(r.deliveryPerSecond), r.ingestCpuMs.toFixed(2), r.deliveryCpuMs.toFixed(2)]
    console.log([r.name.padEnd(w), ...cells.map((c, i) => String(c).padStart(cols[i]!.length))].join('  '))
  }
  console.log('')
  for (const r of results) console.log(`${r.name}: ${r.detail}`)
  const [sqlite, pg1, pg2] = results as [Result, Result, Result]
  const ratio = (a: number, b: number) => (a / b).toFixed(2)
  console.log('')
  console.log(`PG-1 / SQLite: ingest ${ratio(pg1.ingestPerSecond, sqlite.ingestPerSecond)}, delivery ${ratio(pg1.deliveryPerSecond, sqlite.deliveryPerSecond)}`)
  console.log(`PG-2 / PG-1:   ingest ${ratio(pg2.ingestPerSecond, pg1.ingestPerSecond)}, delivery ${ratio(pg2.deliveryPerSecond, pg1.deliveryPerSecond)}`)
  console.log(`(${os.cpus().length} CPUs shared by the relays, PostgreSQL, the sandbox and this load generator; ${loadLine()})`)
}

async function main() {
  const dist = openDist(args.dist)
  const pg = postgres()
  const results: Result[] = []
  try {
    const sandbox = await startSandbox(LATENCY_MS)
    try {
      const { rounds, events, users, clients, concurrency, maxSeconds } = SETTINGS
      console.log(
        `csb-relay bench:postgres${quick ? ' (quick: a smoke check, not a measurement)' : ''}: ingest ${rounds} x ${events} events (${BATCH}/batch, ${users} users), ${clients} client connections; ` +
          `delivery to the sandbox process at ${LATENCY_MS} ms latency, concurrency ${concurrency} per instance; time bound ${maxSeconds} s per phase`
      )
      console.log(dist.describe())
      console.log(`${machineLine()}\n`)

      const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'csb-bench-sqlite-'))
      try {
        results.push(await runScenario('SQLite, 1 instance', 1, path.join(sqliteDir, 'relay.db'), dist, sandbox, SETTINGS))
      } finally {
        fs.rmSync(sqliteDir, { recursive: true, force: true })
      }
      for (const n of [1, 2]) {
        const db = await pg.database()
        try {
          results.push(await runScenario(`PostgreSQL, ${n} instance${n > 1 ? 's' : ''}`, n, db.url, dist, sandbox, SETTINGS))
        } finally {
          await db.drop()
        }
      }
      printResults(results)
    } finally {
      await sandbox.stop()
    }
  } finally {
    pg.stop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
