/**
 * Which built relay a bench runs: this checkout's `dist/` by default, or another checkout's with
 * `--dist PATH` (or BENCH_DIST), so that one run of this bench can alternate two versions of the
 * relay. The bench's own side (load generator, baselines, the sandbox) always comes from this
 * checkout, so only the relay differs between the two.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

/** This checkout. */
export const ROOT = path.resolve(__dirname, '../..')
export const OWN_DIST = path.join(ROOT, 'dist')

// Starts the CLI of any dist with the arguments that follow: the same launcher for every dist, so
// `bin/csb-relay.js` (which always loads its own checkout's dist) is not needed.
const LAUNCHER =
  "require(process.argv[1]).main(process.argv.slice(2)).then((c) => { if (typeof c === 'number') process.exitCode = c })" +
  '.catch((e) => { console.error(e && e.stack ? e.stack : String(e)); process.exit(1) })'

export interface Dist {
  /** Absolute path of the dist directory. */
  dir: string
  /** True when it is this checkout's dist. */
  own: boolean
  /** require() of a module of that dist, e.g. `load<typeof import('../../src/store')>('store')`. */
  load<T>(module: string): T
  /** Node arguments that run the CLI of that dist with `args` (pass them to spawn(process.execPath, ...)). */
  cli(args: string[], nodeArgs?: string[]): string[]
  /** One line for the bench's header: the directory, when it was built and the checkout's commit. */
  describe(): string
}

export function openDist(dir: string | undefined): Dist {
  const resolved = path.resolve(dir || OWN_DIST)
  const main = path.join(resolved, 'cli', 'main.js')
  if (!fs.existsSync(main)) {
    const fix = resolved === OWN_DIST ? 'run `npm run build`' : 'build that checkout (`npm run build` there) or fix --dist / BENCH_DIST'
    throw new Error(`bench: ${main} is missing; ${fix}`)
  }
  return {
    dir: resolved,
    own: resolved === OWN_DIST,
    load: <T>(module: string) => require(path.join(resolved, module)) as T,
    cli: (args, nodeArgs = []) => [...nodeArgs, '-e', LAUNCHER, main, ...args],
    describe() {
      const built = fs.statSync(main).mtime.toISOString()
      return `relay code: ${resolved} (built ${built}${commitOf(path.dirname(resolved))})`
    }
  }
}

/** `, checkout at COMMIT` when the directory is in a git checkout; the dist may differ from it if not rebuilt. */
function commitOf(dir: string): string {
  try {
    const commit = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    return commit ? `, checkout at ${commit}` : ''
  } catch {
    return ''
  }
}
