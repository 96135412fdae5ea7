/**
 * The built CLI (`node bin/csb-relay.js ...`) as child processes, as a user runs it: any command,
 * the relay (`start`), the sandbox (`sandbox`). Build first (`npm run build`); `assertBuilt`
 * says so when dist/ is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { RecordedRequest } from '../../src/sandbox'
import { tempDir } from './temp'

export const ROOT = path.resolve(__dirname, '../..')
export const BIN = path.join(ROOT, 'bin', 'csb-relay.js')
/** How long a stopped process may take to exit before it is killed (a hung test would otherwise leave it running). */
const STOP_GRACE_MS = 10_000

export function assertBuilt(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before the process tests')
  }
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface CliProcess {
  child: ChildProcess
  /** Everything written so far. */
  stdout(): string
  stderr(): string
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<Exit>
  /** Resolves with the first match of `pattern` in stdout + stderr. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL if it takes longer than STOP_GRACE_MS. */
  stop(signal?: NodeJS.Signals): Promise<Exit>
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
  return watchProcess(child)
}

/** The CliProcess surface over a child spawned with piped stdout and stderr (runCli's, or one a test starts another way). */
export function watchProcess(child: ChildProcess): CliProcess {
  let out = ''
  let err = ''
  const listeners = new Set<() => void>()
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk.toString(); listeners.forEach((l) => l()) })
  child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString(); listeners.forEach((l) => l()) })
  const exited = new Promise<Exit>((resolve) => {
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
    stop: async (signal = 'SIGTERM') => {
      if (done) return exited
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
      const exit = await exited
      clearTimeout(timer)
      return exit
    }
  }
}

/** Runs a command to its end: how it exited and what it printed. */
export async function runToExit(args: string[], options: RunOptions = {}): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = runCli(args, options)
  const exit = await cli.exited
  return { ...exit, stdout: cli.stdout(), stderr: cli.stderr() }
}

/** Writes `config` as `dir`/config.json for --config; returns the file's path. */
export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const file = path.join(dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

export interface RelayProcessOptions extends RunOptions {
  /** The folder for the config file and the default store; also the working directory. Default: a new temporary folder. */
  dir?: string
  /** --db: a SQLite file or a postgres:// URL. Default: `dir`/relay.db. */
  db?: string
  /** Written to `dir`/config.json and passed with --config. */
  config?: Record<string, unknown>
  /** More flags (a later --port wins over the default --port 0). */
  args?: string[]
}

export interface RelayProcess extends CliProcess {
  url: string
  dir: string
  db: string
}

/** Starts `csb-relay start --port 0 --db DB [--config FILE] ...` and resolves once it prints where it listens. */
export async function startRelayProcess(options: RelayProcessOptions = {}): Promise<RelayProcess> {
  const dir = options.dir ?? tempDir('csb-relay-process-')
  const db = options.db ?? path.join(dir, 'relay.db')
  const config = options.config ? ['--config', writeConfig(dir, options.config)] : []
  const cli = runCli(['start', '--port', '0', '--db', db, ...config, ...(options.args ?? [])], { env: options.env, cwd: options.cwd ?? dir })
  try {
    const match = await cli.waitForOutput(/listening on (http:\/\/[^\s]+)/, 30_000)
    return { ...cli, url: match[1]!, dir, db }
  } catch (err) {
    await cli.stop('SIGKILL')
    throw err
  }
}

export interface SandboxProcess extends CliProcess {
  url: string
  apiKey: string
  /** Every request recorded so far (fetched incrementally, oldest first). */
  recording(): Promise<RecordedRequest[]>
}

/** `csb-relay sandbox --port 0 --quiet` with the given flags (e.g. ['--latency', 'uniform:5:20']). */
export async function startSandboxProcess(flags: string[] = []): Promise<SandboxProcess> {
  const cli = runCli(['sandbox', '--port', '0', '--quiet', ...flags])
  try {
    const url = (await cli.waitForOutput(/listening on (http:\/\/\S+)/))[1]!
    const apiKey = (await cli.waitForOutput(/API key: (\S+)/))[1]!
    const seen: RecordedRequest[] = []
    const recording = async () => {
      for (;;) {
        const since = seen.length > 0 ? seen[seen.length - 1]!.seq : 0
        const res = await fetch(`${url}/_sandbox/requests?since=${since}&limit=5000`)
        if (res.status !== 200) throw new Error(`sandbox recording: HTTP ${res.status} ${await res.text()}`)
        const page = (await res.json()) as RecordedRequest[]
        seen.push(...page)
        if (page.length < 5000) return seen
      }
    }
    return { ...cli, url, apiKey, recording }
  } catch (err) {
    await cli.stop('SIGKILL')
    throw err
  }
}
