/** Child processes the benches start (the relay, the sandbox, the bare baseline server). */
import { spawn, type ChildProcess } from 'node:child_process'
import { ROOT } from './dist'

/** Output kept per process: enough for a failure's explanation without growing in a long run. */
const OUTPUT_KEPT = 256 * 1024

export interface Proc {
  name: string
  child: ChildProcess
  /** The first capture group of the ready pattern (the address it listens on). */
  url: string
  /** The last OUTPUT_KEPT characters of stdout and stderr. */
  output(): string
  /** Sends `signal` (default SIGTERM) and resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv
  /** Printed once the process is ready; its first group becomes `url`. */
  ready?: RegExp
  timeoutMs?: number
}

/** Runs `node ...args` in this checkout and resolves when it prints `ready`; rejects with its output if it exits first. */
export function startProcess(name: string, args: string[], options: StartOptions = {}): Promise<Proc> {
  const { env = process.env, ready = /listening on (http:\/\/\S+)/, timeoutMs = 30_000 } = options
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    await exited
  }
  return new Promise((resolve, reject) => {
    let started = false
    const timer = setTimeout(() => {
      void stop('SIGKILL')
      reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_KEPT)
      const match = started ? null : ready.exec(output)
      if (match) {
        started = true
        clearTimeout(timer)
        resolve({ name, child, url: match[1] ?? '', output: () => output, stop })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (!started) reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${output}`))
    })
  })
}

/** The environment without the relay's own variables, so the shell running the bench does not leak in. */
export function relayEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!/^(CSB_|PORT$|HOST$|LOG_LEVEL$)/.test(key)) env[key] = value
  return { ...env, LOG_LEVEL: 'warn', ...extra }
}
