/**
 * Ingest throughput: events per second the relay accepts (stored, committed, answered 200),
 * side by side with a bare fastify server that reads and JSON-parses the same bodies and
 * discards them. Both servers run as separate processes on loopback; one load generator (this
 * process: keep-alive agent, closed loop) drives both with the same requests, bounded in time
 * and count, at each of several concurrency levels (connections). Prints events/s for
 * single-event requests, 100-event batches (/v1/batch) and 100-event arrays signed as Segment's
 * Webhooks (Actions) destination signs them (/v1/webhook) at each level, and each server's peak
 * over the levels: the targets (batches and webhook arrays >= 50% of bare, single events >= 40%)
 * compare peak with peak, and the relay's webhook peak should be within 10% of its batch peak.
 *
 * Why several levels: a closed loop with C connections measures C / latency for a server whose
 * answer waits on the disk. The relay answers only after its commit is synced, so at 32
 * connections it waits with CPU to spare, while the bare server (no disk) is already at its
 * peak there (the generator's own CPU bounds it). Events accepted per second is a capacity,
 * measured where each server is saturated; the lowest level's ratio is printed as well.
 *
 *   npm run bench:ingest            (builds first)
 *   BENCH_SECONDS=8 BENCH_CONCURRENCY=32,256 npm run bench:ingest
 *   BENCH_SECONDS=2 BENCH_ROUNDS=2 BENCH_CONCURRENCY=32 BENCH_SCENARIOS=batch,webhook npx tsx bench/ingest.ts   (a short run)
 *   BENCH_PROFILE=/tmp/prof BENCH_SCENARIOS=batch npx tsx bench/ingest.ts   (relay under --cpu-prof)
 *   BENCH_DB_DIR=/dev/shm npx tsx bench/ingest.ts   (store on tmpfs: fsync costs nothing; shows the disk's share)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { BATCH_SIZE, SHARED_SECRET, WRITE_KEY, body, type Body, type Scenario } from './ingest-requests'

const ROOT = path.resolve(__dirname, '..')
/** Measured seconds per server and scenario, split into ROUNDS alternating slices. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6)
/** Connections, one level at a time: comma-separated. */
const CONCURRENCIES = (process.env.BENCH_CONCURRENCY ?? '32,64,128').split(',').map(Number)
if (CONCURRENCIES.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`BENCH_CONCURRENCY must be positive integers separated by commas, got ${process.env.BENCH_CONCURRENCY}`)
const MAX_REQUESTS = Number(process.env.BENCH_MAX_REQUESTS ?? 200_000)
const WARMUP_SECONDS = 1
const TARGETS: Record<Scenario, number> = { single: 0.4, batch: 0.5, webhook: 0.5 }
/** The relay's webhook peak against its batch peak: at least this. */
const WEBHOOK_TO_BATCH = 0.9
const PROFILE_DIR = process.env.BENCH_PROFILE
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'single,batch,webhook').split(',') as Scenario[]
if (SCENARIOS.some((s) => !(s in TARGETS))) throw new Error(`BENCH_SCENARIOS must be among ${Object.keys(TARGETS).join(', ')}, got ${process.env.BENCH_SCENARIOS}`)

/** The bare baseline: fastify, a raw-body parser, JSON.parse, {"success":true}. Nothing else. */
const BARE_SERVER = `
const fastify = require('fastify')()
fastify.removeAllContentTypeParsers()
fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 512000 }, (req, body, done) => {
  try { done(null, JSON.parse(body.toString('utf8'))) } catch (err) { err.statusCode = 400; done(err) }
})
fastify.post('/v1/:kind', (req, reply) => { reply.type('application/json; charset=utf-8').send('{"success":true}') })
fastify.listen({ port: 0, host: '127.0.0.1' }).then((address) => console.log('listening on ' + address))
`

interface Server {
  name: string
  url: string
  child: ChildProcess
}

function startProcess(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output)
      if (match) {
        child.stdout!.off('data', onData)
        child.stdout!.resume()
        child.stderr!.resume()
        resolve({ name, url: match[1]!, child })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()))
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening:\n${output}`)))
  })
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return
  const exited = new Promise((r) => server.child.once('exit', r))
  server.child.kill('SIGTERM')
  await exited
}

let firstNetworkError: Error | undefined

/** Resolves with the status, or 0 on a network error (counted, never aborting the run). */
function post(url: URL, agent: http.Agent, { path, payload, headers }: Body): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname, port: url.port, path, method: 'POST', agent,
        headers: { 'content-type': 'application/json', ...headers, 'content-length': Buffer.byteLength(payload) }
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      }
    )
    req.on('error', (err) => {
      firstNetworkError ??= err
      resolve(0)
    })
    req.on('socket', (socket) => socket.setNoDelay(true))
    req.end(payload)
  })
}

interface Result {
  events: number
  requests: number
  seconds: number
  errors: number
}

/** Runs `concurrency` loops posting `scenario` bodies for `seconds` (or MAX_REQUESTS). */
async function drive(server: Server, scenario: Scenario, seconds: number, concurrency: number): Promise<Result> {
  const url = new URL(server.url)
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const deadline = performance.now() + seconds * 1000
  let events = 0
  let requests = 0
  let errors = 0
  const started = performance.now()
  const loop = async () => {
    while (performance.now() < deadline && requests < MAX_REQUESTS) {
      const next = body(scenario)
      requests++
      const status = await post(url, agent, next)
      if (status === 200) events += next.events
      else errors++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  const elapsed = (performance.now() - started) / 1000
  agent.destroy()
  return { events, requests, seconds: elapsed, errors }
}

/** Events the relay has admitted (committed to its inbox) and not yet moved into its queue, read from /metrics. */
async function admittedBacklog(server: Server): Promise<number> {
  const response = await fetch(new URL('/metrics', server.url))
  const text = await response.text()
  const match = /^csb_relay_backlog_events\{state="admitted"\} (\d+)/m.exec(text)
  if (!match) throw new Error('relay /metrics has no csb_relay_backlog_events{state="admitted"}')
  return Number(match[1])
}

/**
 * Waits until the relay has moved every admitted event into its queue, so its background work
 * never runs during the bare server's slice; returns the seconds it took.
 */
async function untilMoved(server: Server): Promise<number> {
  const started = performance.now()
  while ((await admittedBacklog(server)) > 0) await new Promise((r) => setTimeout(r, 20))
  return (performance.now() - started) / 1000
}

interface PairResult {
  concurrency: number
  bare: Result
  relay: Result
  /** Seconds spent after the relay's slices until its inbox was empty. */
  moveSeconds: number
}

/**
 * Alternates the two servers in short slices (ROUNDS x SECONDS/ROUNDS each, at every concurrency
 * level in turn) after a warm-up, so load from other processes on the machine falls on both alike;
 * sums events and time per server and level. After each relay slice it waits for the relay's inbox
 * to empty (timed), so the relay's catch-up never overlaps the bare server's slice.
 */
async function measure(bare: Server, relay: Server, scenario: Scenario): Promise<PairResult[]> {
  const top = Math.max(...CONCURRENCIES)
  await drive(bare, scenario, WARMUP_SECONDS, top)
  await drive(relay, scenario, WARMUP_SECONDS, top)
  await untilMoved(relay)
  const empty = (): Result => ({ events: 0, requests: 0, seconds: 0, errors: 0 })
  const sums: PairResult[] = CONCURRENCIES.map((concurrency) => ({ concurrency, bare: empty(), relay: empty(), moveSeconds: 0 }))
  const add = (sum: Result, r: Result) => {
    sum.events += r.events
    sum.requests += r.requests
    sum.seconds += r.seconds
    sum.errors += r.errors
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const level of sums) {
      add(level.bare, await drive(bare, scenario, SECONDS / ROUNDS, level.concurrency))
      add(level.relay, await drive(relay, scenario, SECONDS / ROUNDS, level.concurrency))
      level.moveSeconds += await untilMoved(relay)
    }
  }
  return sums
}

const rate = (r: Result) => (r.seconds > 0 ? r.events / r.seconds : 0)
const label = (scenario: Scenario) =>
  scenario === 'single' ? 'single-event requests' : scenario === 'webhook' ? `${BATCH_SIZE}-event webhook arrays` : `${BATCH_SIZE}-event batches`
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10)
const pct = (ratio: number) => `${(ratio * 100).toFixed(0).padStart(3)}%`
/** The level where the server accepted the most events per second. */
const peak = (levels: PairResult[], server: 'bare' | 'relay') => levels.reduce((best, l) => (rate(l[server]) > rate(best[server]) ? l : best))

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build`')
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_DB_DIR ?? os.tmpdir(), 'csb-relay-bench-'))
  const env = { ...process.env, LOG_LEVEL: 'warn', CSB_RELAY_WRITE_KEYS: '', CSB_API_KEY: '', CSB_BASE_URL: '' }
  const bare = await startProcess('bare fastify', ['-e', BARE_SERVER], env)
  const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []
  // No CSB is configured, so nothing is delivered: the backlog bound is raised so that every
  // event the run sends is accepted (backpressure is not what this measures).
  const config = path.join(dir, 'relay.json')
  fs.writeFileSync(config, JSON.stringify({ ingest: { maxBacklog: 1_000_000_000 }, sources: [{ name: 'bench', writeKey: WRITE_KEY, sharedSecret: SHARED_SECRET }] }))
  const relay = await startProcess('relay', [...profile, path.join(ROOT, 'bin', 'csb-relay.js'), 'start', '--port', '0', '--db', path.join(dir, 'bench.db'), '--config', config], env)
  const results: Record<Scenario, PairResult[]> = {} as never
  try {
    console.log(`ingest bench: ${CONCURRENCIES.join(', ')} concurrent keep-alive connections (closed loop), ${SECONDS} s per server, scenario and level in ${ROUNDS} alternating slices after ${WARMUP_SECONDS} s warm-up, loopback`)
    console.log(`store: ${path.join(dir, 'bench.db')}`)
    console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`)
    for (const scenario of SCENARIOS) results[scenario] = await measure(bare, relay, scenario)
  } finally {
    await stop(relay)
    await stop(bare)
    fs.rmSync(dir, { recursive: true, force: true })
  }

  console.log('')
  console.log('scenario                 connections   bare events/s   relay events/s   ratio   requests (bare/relay)   non-200 (bare/relay)')
  for (const scenario of SCENARIOS) {
    for (const { concurrency, bare: b, relay: r } of results[scenario]) {
      console.log(`${label(scenario).padEnd(24)} ${String(concurrency).padStart(8)}       ${fmt(rate(b))}      ${fmt(rate(r))}       ${pct(rate(r) / rate(b))}   ${b.requests}/${r.requests}   ${b.errors}/${r.errors}`)
    }
  }
  console.log('')
  console.log('Peak against peak (each server at the level where it accepted the most):')
  console.log('scenario                 bare peak events/s (conns)   relay peak events/s (conns)   ratio   target')
  let failed = false
  for (const scenario of SCENARIOS) {
    const levels = results[scenario]
    const bareBest = peak(levels, 'bare')
    const relayBest = peak(levels, 'relay')
    const ratio = rate(relayBest.relay) / rate(bareBest.bare)
    const target = TARGETS[scenario]
    const ok = ratio >= target
    failed ||= !ok || levels.some((l) => l.bare.errors + l.relay.errors > 0)
    console.log(
      `${label(scenario).padEnd(24)} ${fmt(rate(bareBest.bare))} (${bareBest.concurrency})${' '.repeat(14 - String(bareBest.concurrency).length)}${fmt(rate(relayBest.relay))} (${relayBest.concurrency})${' '.repeat(15 - String(relayBest.concurrency).length)}${pct(ratio)}    >= ${target * 100}%  ${ok ? 'met' : 'MISSED'}`
    )
  }
  if (results.batch && results.webhook) {
    const ratio = rate(peak(results.webhook, 'relay').relay) / rate(peak(results.batch, 'relay').relay)
    const ok = ratio >= WEBHOOK_TO_BATCH
    failed ||= !ok
    console.log(`relay: webhook arrays against batches (peak against peak): ${pct(ratio)}    >= ${WEBHOOK_TO_BATCH * 100}%  ${ok ? 'met' : 'MISSED'}`)
  }
  console.log('')
  console.log('Accepted means committed to the relay\'s inbox (answered 200 after the commit). The relay moves')
  console.log('admitted events into its delivery queue (dedupe, ordering keys) in the background, yielding to')
  console.log('requests; after each slice the bench waited until that move was done:')
  console.log('scenario                 connections   move after slices   events/s counting that wait   ratio to bare')
  for (const scenario of SCENARIOS) {
    for (const { concurrency, bare: b, relay: r, moveSeconds } of results[scenario]) {
      const whole = r.events / (r.seconds + moveSeconds)
      console.log(`${label(scenario).padEnd(24)} ${String(concurrency).padStart(8)}    ${moveSeconds.toFixed(2).padStart(8)} s          ${fmt(whole)}                   ${pct(whole / rate(b))}`)
    }
  }
  if (firstNetworkError) console.log(`first network error: ${firstNetworkError.message}`)
  process.exitCode = failed ? 1 : 0
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
