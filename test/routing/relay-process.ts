/**
 * Runs the built relay (`node bin/csb-relay.js start`) as a child process with a config file,
 * for tests that go SDK → relay → sandbox. The relay is started on port 0; its URL is read
 * from the banner it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const ROOT = path.resolve(__dirname, '../..')
const BIN = path.join(ROOT, 'bin', 'csb-relay.js')

export function assertBuilt(): void {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before the process-level tests')
  }
}

export interface RelayProcess {
  url: string
  dir: string
  dbPath: string
  output(): string
  stop(): Promise<number | null>
}

/** Environment without the relay's variables, so only the config file speaks. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const key of Object.keys(env)) {
    if (key.startsWith('CSB_') || key === 'PORT' || key === 'HOST') delete env[key]
  }
  return env
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `csb-${prefix}-`))
}

export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const file = path.join(dir, 'config.json')
  fs.writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

/** Runs `csb-relay start` to completion (for refusals): exit code and output. */
export function runStart(configFile: string, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'start', '--config', configFile, '--port', '0'], { env: cleanEnv(), cwd: path.dirname(configFile) })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`csb-relay start did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

export async function startRelayProcess(dir: string, config: Record<string, unknown>, timeoutMs = 30_000): Promise<RelayProcess> {
  const dbPath = path.join(dir, 'relay.db')
  const configFile = writeConfig(dir, { db: dbPath, logLevel: 'warn', ...config })
  const child: ChildProcess = spawn(process.execPath, [BIN, 'start', '--config', configFile, '--port', '0'], { env: cleanEnv(), cwd: dir })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs)
    const check = () => {
      const match = /listening on (http:\/\/[^\s]+)/.exec(out)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stdout!.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`relay exited with ${code} before listening:\n${out}`))
    })
  })

  return {
    url,
    dir,
    dbPath,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
