/** Runs the built relay (`node bin/csb-relay.js start`) as a child process for process-level tests. */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { tempDir as sharedTempDir } from '../helpers/temp'

const BIN = path.resolve(__dirname, '../../bin/csb-relay.js')

export interface RelayProcess {
  url: string
  child: ChildProcess
  output: () => string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** A temporary directory removed by `removeTempDirs` (test/helpers/temp.ts; call it from afterAll). */
export function tempDir(prefix: string): string {
  return sharedTempDir(prefix)
}

export async function startRelayProcess(options: { dir: string; env: Record<string, string>; config: Record<string, unknown> }): Promise<RelayProcess> {
  const configFile = path.join(options.dir, 'config.json')
  fs.writeFileSync(configFile, JSON.stringify(options.config))
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--config', configFile], {
    env: { PATH: process.env.PATH ?? '', CSB_RELAY_DB: path.join(options.dir, 'relay.db'), LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start:\n${out}`)), 20_000)
    const check = () => {
      const m = /csb-relay listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    }
    child.stdout?.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`relay exited with ${code}:\n${out}`))
    })
  })
  return {
    url,
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill(signal)
      return exited
    }
  }
}

export async function postBatch(url: string, writeKey: string, batch: unknown[]): Promise<Response> {
  return fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
    body: JSON.stringify({ batch })
  })
}
