/**
 * Runs the built CLI (`node bin/csb-relay.js ...`) as a child process, as a user would.
 * Build first (`npm run build`); `assertBuilt` says so when dist/ is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

export const ROOT = path.resolve(__dirname, '../..')
export const BIN = path.join(ROOT, 'bin', 'csb-relay.js')

export function assertBuilt(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before the process tests')
  }
}

export interface CliProcess {
  child: ChildProcess
  /** Everything written so far. */
  stdout(): string
  stderr(): string
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Resolves with the first match of `pattern` in stdout + stderr. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  cwd?: string
}

/** Environment without the relay's variables, so the developer's shell does not leak in. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(CSB_|PORT$|HOST$|LOG_LEVEL$)/.test(key)) continue
    env[key] = value
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  return env
}

export function runCli(args: string[], options: RunOptions = {}): CliProcess {
  assertBuilt()
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  const listeners = new Set<() => void>()
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk.toString(); listeners.forEach((l) => l()) })
  child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString(); listeners.forEach((l) => l()) })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { listeners.forEach((l) => l()); resolve({ code, signal }) })
  })
  let done = false
  void exited.then(() => { done = true })

  const waitForOutput = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = (out + err).match(pattern)
        if (match) { cleanup(); resolve(match) }
        else if (done) { cleanup(); reject(new Error(`process exited before printing ${pattern}\nstdout:\n${out}\nstderr:\n${err}`)) }
      }
      const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out waiting for ${pattern}\nstdout:\n${out}\nstderr:\n${err}`)) }, timeoutMs)
      const cleanup = () => { clearTimeout(timer); listeners.delete(check) }
      listeners.add(check)
      check()
    })

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput,
    stop: (signal = 'SIGTERM') => {
      if (!done) child.kill(signal)
      return exited
    }
  }
}

export interface RelayProcess extends CliProcess {
  url: string
}

/** Starts `csb-relay start --port 0 ...` and resolves once it prints where it listens. */
export async function startRelayProcess(args: string[], options: RunOptions = {}): Promise<RelayProcess> {
  const cli = runCli(['start', '--port', '0', ...args], options)
  try {
    const match = await cli.waitForOutput(/listening on (http:\/\/[^\s]+)/)
    return { ...cli, url: match[1]! }
  } catch (err) {
    await cli.stop('SIGKILL')
    throw err
  }
}
