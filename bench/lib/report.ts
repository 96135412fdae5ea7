/** Printing and summarising a bench's figures. */
import os from 'node:os'

export type Figures = Record<string, string | number>

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ')

/** Node, the CPUs and the load average: what the figures were measured on. */
export function machineLine(): string {
  return `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average ${loadAverage()}`
}

/** The load average at the end, for comparison with the header's. */
export function loadLine(): string {
  return `load average now ${loadAverage()}`
}

/** `== name` and one indented `key value` line per figure. */
export function printFigures(name: string, figures: Figures): void {
  console.log(`== ${name}`)
  for (const [key, value] of Object.entries(figures)) console.log(`  ${key.padEnd(30)} ${value}`)
  console.log('')
}

export const thousands = (n: number) => Math.round(n).toLocaleString('en-US')
export const percent = (ratio: number) => `${(ratio * 100).toFixed(0)}%`
