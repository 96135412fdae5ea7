/**
 * An in-process relay on an ephemeral port with a temporary SQLite store, configured as a
 * user would (loadConfig over flags, environment and an optional config file).
 */
import fs from 'node:fs'
import path from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll } from 'vitest'
import { loadConfig } from '../../src/cli/config'
import { startRelay, type Relay } from '../../src/cli/relay'
import { postEvents } from './http'
import { removeTempDirs, tempDir } from './temp'

export const TEST_WRITE_KEY = 'wk_relay_test_key'

export interface TestRelayOptions {
  /** Extra environment (CSB_RELAY_WRITE_KEYS defaults to TEST_WRITE_KEY; pass '' for none). */
  env?: Record<string, string>
  /** Written to a config file passed with --config. */
  configFile?: Record<string, unknown>
  /** Reuse a database (restart tests); null passes no --db flag, for a store named by CSB_RELAY_DB in `env`. */
  db?: string | null
}

export async function startTestRelay(options: TestRelayOptions = {}): Promise<Relay> {
  const dir = tempDir()
  const argv = ['--port', '0', '--host', '127.0.0.1']
  if (options.db !== null) argv.push('--db', options.db ?? path.join(dir, 'relay.db'))
  if (options.configFile) {
    const file = path.join(dir, 'config.json')
    fs.writeFileSync(file, JSON.stringify(options.configFile))
    argv.push('--config', file)
  }
  const env = { CSB_RELAY_WRITE_KEYS: TEST_WRITE_KEY, ...options.env }
  const config = loadConfig({ argv, env, cwd: dir })
  return startRelay(config, { logger: pino({ level: 'silent' }) })
}

/**
 * One relay for a whole test file, with the admin token `token`: started before its tests,
 * closed (and the temporary folders removed) after them. Returns the running relay's getter.
 */
export function relayForFile(token: string): () => Relay {
  let relay: Relay | undefined
  beforeAll(async () => {
    relay = await startTestRelay({ env: { CSB_RELAY_ADMIN_TOKEN: token } })
  })
  afterAll(async () => {
    await relay?.close()
    removeTempDirs()
  })
  return () => {
    if (!relay) throw new Error('the relay is not started yet: call the getter inside a test')
    return relay
  }
}

/** POST JSON to the relay with TEST_WRITE_KEY (postEvents); the answer's body parsed. */
export async function post(relay: { url: string }, pathname: string, body: unknown, headers: Record<string, string> = {}) {
  const answer = await postEvents(relay.url, pathname, TEST_WRITE_KEY, body, { headers })
  return { status: answer.status, headers: answer.headers, body: answer.json() }
}
