/**
 * Splits a `perf record` of bench/delivery-ab.ts by run and compares A and B in on-CPU time:
 *
 *   NODE_OPTIONS="--perf-basic-prof --interpreted-frames-native-stack" perf record -k CLOCK_MONOTONIC \
 *     -e cpu-clock -F 1999 --call-graph fp -o ab.data -- node node_modules/tsx/dist/cli.mjs \
 *     bench/delivery-ab.ts --a DIST --b DIST --marks marks.txt
 *   perf script -i ab.data -F pid,tid,time,ip,sym | npx tsx bench/perf-split.ts marks.txt \
 *     [--events N] [--hz N] [--by function|file|package] [--threads main|others] [--top N] [--filter TEXT]
 *
 * Samples of the bench's process (the marks file names it) that fall inside a run's delivery are
 * counted for that run's side; each is charged to its nearest JavaScript frame (V8's builtins and
 * native calls to the function that called them), named by function, file or package, with the
 * dists' and node_modules' paths shortened alike so that A's and B's code compare. Prints on-CPU
 * µs per delivered event for each side, then the names with the largest difference. Symbols come
 * from V8's perf map, which keeps code addresses that moved or were freed: a few µs per name
 * are noise.
 */
import fs from 'node:fs'
import readline from 'node:readline'
import { parseArgs } from 'node:util'

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    events: { type: 'string', default: '6000' },
    hz: { type: 'string', default: '1999' },
    by: { type: 'string', default: 'package' },
    threads: { type: 'string', default: 'main' },
    top: { type: 'string', default: '30' },
    filter: { type: 'string', default: '' }
  }
})
if (!positionals[0]) throw new Error('bench/perf-split: name the marks file bench/delivery-ab.ts --marks wrote')

interface Mark {
  pid: number
  side: 'A' | 'B'
  from: number
  to: number
}
const marks: Mark[] = fs
  .readFileSync(positionals[0], 'utf8')
  .trim()
  .split('\n')
  .map((line) => {
    const [pid, side, from, to] = line.split(' ')
    return { pid: Number(pid), side: side as 'A' | 'B', from: Number(BigInt(from)) / 1e9, to: Number(BigInt(to)) / 1e9 }
  })
const pid = marks[0].pid
const runs = { A: marks.filter((m) => m.side === 'A').length, B: marks.filter((m) => m.side === 'B').length }

/** A frame's name with the checkouts' paths shortened: `dist/...` for any dist, `nm/...` for any node_modules. */
function shorten(symbol: string): string {
  return symbol
    .replace(/^JS:[*~^]?/, '')
    .replace(/file:\/\//, '')
    .replace(/ \S*\/node_modules\//, ' nm/')
    .replace(/ \/\S*?\/(dist|\.abdist\/[^/ ]+)\//, ' dist/')
}

/** The name a sample is counted under, by the chosen grouping. */
function nameOf(symbol: string): string {
  const located = / (\S+?):\d+:\d+$/.exec(symbol)
  if (args.by === 'function' || !located) return symbol
  const file = located[1]
  if (args.by === 'file') return file
  if (file.startsWith('nm/')) {
    const parts = file.slice(3).split('/')
    return `nm/${parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`
  }
  return file.startsWith('node:') ? 'node:*' : file
}

const counts = { A: new Map<string, number>(), B: new Map<string, number>() }
const totals = { A: 0, B: 0 }
let sample: { pid: number; tid: number; time: number; frames: string[] } | null = null

function count(): void {
  if (!sample || sample.pid !== pid || (args.threads === 'main') !== (sample.tid === pid)) return
  const t = sample.time
  const side = marks.find((m) => t >= m.from && t <= m.to)?.side
  if (!side) return
  const js = sample.frames.find((f) => f.startsWith('JS:'))
  const name = js ? nameOf(shorten(js)) : `(native) ${shorten(sample.frames[0] ?? '?')}`
  totals[side]++
  counts[side].set(name, (counts[side].get(name) ?? 0) + 1)
}

const lines = readline.createInterface({ input: process.stdin })
lines.on('line', (line) => {
  const head = /^\s*(\d+)\/(\d+)\s+([\d.]+):\s*$/.exec(line)
  if (head) {
    count()
    sample = { pid: Number(head[1]), tid: Number(head[2]), time: Number(head[3]), frames: [] }
    return
  }
  const frame = /^\s+[0-9a-f]+\s+(.*)$/.exec(line)
  if (frame && sample) sample.frames.push(frame[1].trim())
})
lines.on('close', () => {
  count()
  const usPerSample = 1e6 / Number(args.hz)
  const perEvent = (side: 'A' | 'B', n: number) => (n * usPerSample) / runs[side] / Number(args.events)
  console.log(`${args.threads} thread(s) of process ${pid}: ${runs.A} A runs, ${runs.B} B runs; on-CPU µs per event A ${perEvent('A', totals.A).toFixed(1)}, B ${perEvent('B', totals.B).toFixed(1)}`)
  const names = new Set([...counts.A.keys(), ...counts.B.keys()])
  const rows = [...names]
    .filter((name) => name.includes(args.filter ?? ''))
    .map((name) => ({ name, a: perEvent('A', counts.A.get(name) ?? 0), b: perEvent('B', counts.B.get(name) ?? 0) }))
    .sort((x, y) => Math.abs(y.b - y.a) - Math.abs(x.b - x.a))
  console.log('       A        B     B-A  (µs per event)')
  for (const { name, a, b } of rows.slice(0, Number(args.top))) {
    console.log(`${a.toFixed(2).padStart(8)} ${b.toFixed(2).padStart(8)} ${(b - a).toFixed(2).padStart(7)}  ${name.slice(0, 140)}`)
  }
})
