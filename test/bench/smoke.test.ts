/**
 * Every bench runs in its quick form (--quick: a few seconds each) and prints its headline
 * figures and ratios. The figures themselves are not judged (the machine is shared and noisy);
 * what fails here is a bench that no longer runs, exits with an error, or stops printing what
 * the README quotes. The benches run at once: most of their time is spent waiting on latency.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, ROOT } from '../helpers/processes'
import { removeTempDirs, tempDir } from '../helpers/temp'

const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx')
const TIMEOUT_MS = 240_000

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** `tsx bench/<script> --quick ...args`, with no BENCH_ variable of the caller's shell. */
function bench(script: string, ...args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BENCH_')))
  return new Promise((resolve) => {
    execFile(TSX, [path.join('bench', script), '--quick', ...args], { cwd: ROOT, env, timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

/** Fails with the bench's whole output, so a broken bench says why. */
function expectRan(run: Run): void {
  expect(run.code, `exit code ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0)
}

const N = String.raw`[\d,]+`
const RATIO = String.raw`\d+\.\d\d`

describe.concurrent('benches in their quick form (bench/, --quick)', () => {
  beforeAll(assertBuilt)

  it('ingest prints the sustained rate against the bare server first, then acceptance with its targets', { timeout: TIMEOUT_MS }, async () => {
    const run = await bench('ingest.ts')
    expectRan(run)
    const out = run.stdout
    const sustained = out.indexOf("Sustained rate: events accepted AND moved into the relay's queue")
    const acceptance = out.indexOf('Acceptance only:')
    expect(sustained).toBeGreaterThan(0)
    expect(acceptance).toBeGreaterThan(sustained)
    for (const scenario of ['single-event requests', '100-event batches', '100-event webhook arrays']) {
      // Peak against peak: bare events/s (connections), relay events/s (connections), ratio.
      const peakRow = new RegExp(`^${scenario}\\s+${N} \\(32\\)\\s+${N} \\(32\\)\\s+\\d+%`, 'm')
      expect(out.slice(sustained, acceptance)).toMatch(peakRow)
      expect(out.slice(acceptance)).toMatch(new RegExp(`^${scenario}\\s+${N} \\(32\\)\\s+${N} \\(32\\)\\s+\\d+%\\s+>= \\d+% (met|MISSED)`, 'm'))
    }
    expect(out).toMatch(/^relay: webhook arrays against batches \(acceptance, peak against peak\):\s+\d+%/m)
    expect(out).toMatch(/^relay code: .*dist/m)
  })

  it('delivery-fanout prints delivered/s per destination against its bound, and CPU per event against one destination', { timeout: TIMEOUT_MS }, async () => {
    const run = await bench('delivery-fanout.ts')
    expectRan(run)
    const out = run.stdout
    const one = out.indexOf('== one destination (CSB)')
    const two = out.indexOf('== two destinations (CSB + webhook)')
    expect(one).toBeGreaterThan(0)
    expect(two).toBeGreaterThan(one)
    expect(out.slice(one, two)).toMatch(/delivered, dead, skipped\s+300, 0, 0/)
    const fanout = out.slice(two)
    expect(fanout).toMatch(/events \(rows\)\s+300 \(600\)/)
    expect(fanout).toMatch(/dead, skipped\s+0, 0/)
    for (const label of ['CSB', 'webhook']) {
      expect(fanout).toMatch(new RegExp(`^  ${label} delivered/s\\s+\\d+$`, 'm'))
      expect(fanout).toMatch(new RegExp(`^  ${label} bound 64/\\d+\\.\\dms\\s+\\d+$`, 'm'))
      expect(fanout).toMatch(new RegExp(`^  ${label} ratio to the bound\\s+${RATIO}$`, 'm'))
    }
    expect(fanout).toMatch(/relay CPU ms\/delivered event\s+\d+\.\d\d/)
    expect(fanout).toMatch(new RegExp(`ratio to one destination\\s+${RATIO}`))
  })

  it('delivery prints each scenario with its ratio to the same bound, the contended ones included', { timeout: TIMEOUT_MS }, async () => {
    const run = await bench('delivery.ts')
    expectRan(run)
    const out = run.stdout
    const section = (name: string) => {
      const start = out.indexOf(`== ${name}`)
      expect(start, `no scenario "${name}" in:\n${out}`).toBeGreaterThanOrEqual(0)
      const end = out.indexOf('\n== ', start + 1)
      return out.slice(start, end < 0 ? undefined : end)
    }
    const bound = /bound 64\/(\d+\.\d)ms\s+(\d+)/
    const throughput = section('throughput, no filters')
    expect(throughput).toMatch(new RegExp(`ratio \\(target >= 0\\.80\\)\\s+${RATIO}`))
    const contended = section('throughput, contended: 200 ordering keys')
    const names = section('throughput, 300 feature names (names guard on, limit 1000)')
    for (const scenario of [throughput, contended, names]) {
      // Every event reached an outcome, and none was refused (the names guard's limit is above the names).
      expect(scenario).toMatch(/delivered, dead, skipped\s+300, 0, 0/)
      expect(scenario).toMatch(/delivered\/s\s+\d+/)
      expect(scenario.match(bound)?.slice(1)).toEqual(throughput.match(bound)?.slice(1))
    }
    expect(contended).toMatch(/ordering keys, event names\s+200, 1/)
    expect(contended).toMatch(new RegExp(`ratio to the bound\\s+${RATIO}`))
    expect(names).toMatch(/ordering keys, event names\s+300, 300/)
    // The guard admitted every name (through the store), and refused none.
    expect(names).toMatch(/feature names known \/ limit\s+300 \/ 1000/)
    expect(names).toMatch(new RegExp(`ratio to the bound\\s+${RATIO}`))
    expect(section('request client alone')).toMatch(new RegExp(`ratio to the bound\\s+${RATIO}`))
    expect(section('steady 1000/s')).toMatch(/p95 ms \(target < 150\)\s+\d+/)
    expect(section('steady 200/s')).toMatch(/verdict\s+(kept up|FELL BEHIND)/)
    expect(section('routing')).toMatch(/throughput ratio three\/none\s+\d+\.\d{3}/)
  })

  it('delivery-ab prints each run of A and B and B / A of neighbouring pairs', { timeout: TIMEOUT_MS }, async () => {
    const run = await bench('delivery-ab.ts', '--a', 'dist', '--b', 'dist')
    expectRan(run)
    const runs = [...run.stdout.matchAll(/^round 1 ([AB]): main thread \d+ µs\/event, process \d+ µs\/event, ratio to the bound \d+\.\d\d$/gm)].map((m) => m[1])
    expect(runs).toEqual(['A', 'B', 'B', 'A'])
    expect(run.stdout).toMatch(new RegExp(`^B / A over 2 neighbouring pairs: main thread median ${RATIO}\\d, range`, 'm'))
  })

  it('perf-split charges the samples of each run of delivery-ab to its side and prints on-CPU µs per event', { timeout: TIMEOUT_MS }, async () => {
    const dir = tempDir('perf-split-')
    // Two runs of process 7 (A from 1 s to 2 s, B from 3 s to 4 s), in CLOCK_MONOTONIC ns.
    fs.writeFileSync(path.join(dir, 'marks.txt'), '7 A 1000000000 2000000000\n7 B 3000000000 4000000000\n')
    const frame = (name: string) => `\t    7f00 JS:*${name}\n`
    const script = [
      `7/7 1.5:\n${frame('deliver /x/dist/delivery/pipeline.js:1:1')}`,
      `7/7 3.5:\n\t    1234 Builtins_LoadIC\n${frame('deliver /y/.abdist/c5/delivery/deliver.js:1:1')}`,
      `7/7 3.6:\n${frame('deliver /y/.abdist/c5/delivery/deliver.js:1:1')}`,
      `7/8 3.7:\n${frame('settle /y/dist/store/sqlite/settle.js:1:1')}`,
      `9/9 3.8:\n${frame('other /z/dist/delivery/deliver.js:1:1')}`
    ].join('')
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(TSX, ['bench/perf-split.ts', path.join(dir, 'marks.txt'), '--events', '1', '--hz', '1000000', '--by', 'file'], { cwd: ROOT }, (err, stdout) =>
        err ? reject(err) : resolve(stdout)
      )
      child.stdin?.end(script)
    })
    removeTempDirs()
    expect(out).toMatch(/on-CPU µs per event A 1\.0, B 2\.0/)
    expect(out).toMatch(/^ +0\.00 +2\.00 +2\.00  dist\/delivery\/deliver\.js$/m)
    expect(out).toMatch(/^ +1\.00 +0\.00 +-1\.00  dist\/delivery\/pipeline\.js$/m)
  })

  it('postgres prints each store setup and the PG-1 / SQLite and PG-2 / PG-1 ratios', { timeout: TIMEOUT_MS }, async () => {
    const run = await bench('postgres.ts')
    expectRan(run)
    for (const setup of ['SQLite, 1 instance', 'PostgreSQL, 1 instance', 'PostgreSQL, 2 instances']) {
      expect(run.stdout).toMatch(new RegExp(`^${setup}\\s+\\d+\\s+\\d+\\s+${RATIO}\\s+${RATIO}$`, 'm'))
    }
    expect(run.stdout).toMatch(new RegExp(`^PG-1 / SQLite: ingest ${RATIO}, delivery ${RATIO}$`, 'm'))
    expect(run.stdout).toMatch(new RegExp(`^PG-2 / PG-1:   ingest ${RATIO}, delivery ${RATIO}$`, 'm'))
  })

  it('store prints its engine runs against the raw-insert baseline', { timeout: TIMEOUT_MS }, async () => {
    const run = await bench('store.ts', '--engines', 'sqlite')
    expectRan(run)
    expect(run.stdout).toMatch(/^baseline raw better-sqlite3 inserts, 100 per transaction: \d+ ev\/s$/m)
    for (const line of ['enqueue, 100-event batches, one at a time', 'enqueue, 1-event calls, 64 concurrent', 'lease+complete, 2k backlog over 64 keys']) {
      expect(run.stdout).toMatch(new RegExp(`^sqlite\\s+${line.replace(/[+()]/g, '\\$&')}.*\\s\\d+ ev/s\\s+${RATIO}x baseline$`, 'm'))
    }
  })

  it('prune prints one prune of the SQLite store: its time, the bytes it wrote, the pruned events left readable', { timeout: TIMEOUT_MS }, async () => {
    const run = await bench('prune.ts', '--vacuum')
    expectRan(run)
    const out = run.stdout
    expect(out).toMatch(/^== fill: 2000 events$/m)
    expect(out).toMatch(/^ {2}events deleted\s+900$/m)
    expect(out).toMatch(/^ {2}ms\s+\d+$/m)
    expect(out).toMatch(/^ {2}written\s+\d+\.\d MB$/m)
    expect(out).toMatch(/^ {2}pruned events still readable \d+ of 900$/m)
    expect(out.indexOf('== VACUUM and a truncating checkpoint after it')).toBeGreaterThan(out.indexOf('== one prune'))
  })

  it('recovery prints the drain time and the attempts during the outage with the recovery off, then on', { timeout: TIMEOUT_MS }, async () => {
    const run = await bench('recovery.ts')
    expectRan(run)
    const out = run.stdout
    const line = (label: string) => new RegExp(`^${label}.*: ${N} events, drained -?\\d+\\.\\d s after the outage ended; ${N} attempts during the outage`, 'm')
    expect(out).toMatch(line('recovery off'))
    expect(out).toMatch(line('recovery on'))
    expect(out.search(line('recovery off'))).toBeLessThan(out.search(line('recovery on')))
    expect(out).toMatch(new RegExp(`^on / off: drain ${RATIO}, attempts during the outage ${RATIO}`, 'm'))
  })

  it('a bench pointed at a dist that is not built says so and how to fix it', { timeout: TIMEOUT_MS }, async () => {
    const run = await bench('store.ts', '--dist', path.join(ROOT, 'no-such-checkout', 'dist'))
    expect(run.code).not.toBe(0)
    expect(run.stderr).toMatch(/no-such-checkout\/dist\/cli\/main\.js is missing; build that checkout/)
  })
})
