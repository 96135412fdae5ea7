/**
 * Options every bench takes, beside its own:
 * - `--dist PATH` (or BENCH_DIST): run another checkout's built relay (see dist.ts);
 * - `--quick` (or BENCH_QUICK=1): every scenario shortened to a smoke check of a few seconds,
 *   which shows that the bench runs and prints its figures, not what they are (test/bench/).
 */
import { parseArgs } from 'node:util'

const env = process.env

export const COMMON_OPTIONS = {
  dist: { type: 'string', default: env.BENCH_DIST ?? '' },
  quick: { type: 'boolean', default: env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true' }
} as const

/** The common options alone, for a bench whose other settings come from the environment. */
export function commonArgs(): { dist: string; quick: boolean } {
  const { values } = parseArgs({ options: COMMON_OPTIONS, strict: true })
  return { dist: values.dist ?? '', quick: values.quick ?? false }
}

/**
 * A number setting: `given` (a flag's or variable's text) when set, else `full`, or `short` in a
 * quick run. Throws naming the setting when the text is not a number in range.
 */
export function setting(name: string, given: string | undefined, defaults: { full: number; short: number }, quick: boolean, min = 0): number {
  if (given === undefined || given === '') return quick ? defaults.short : defaults.full
  const value = Number(given)
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got "${given}"`)
  return value
}
