/**
 * The environment the csb-relay command reads: the one module that looks at `process.env`.
 * The relay's own settings are read by the config loader (config.ts) from the environment
 * handed to it here; the operator commands (status, dlq, send, import, csb, names) read theirs
 * through the functions below. Names and precedence are DESIGN.md's: a flag wins over the
 * environment, the environment over the config file.
 */

/** Environment variables by name, as `process.env` holds them; tests pass their own. */
export type Environment = Readonly<Record<string, string | undefined>>

/** The process's environment. */
export function processEnv(): Environment {
  return process.env
}

/** `--url`, else http://HOST:PORT from the environment, else http://127.0.0.1:8080. */
export function relayUrl(flag: string | undefined, env: Environment = processEnv()): string {
  if (flag) return flag.replace(/\/+$/, '')
  const host = env.HOST && env.HOST !== '0.0.0.0' && env.HOST !== '::' ? env.HOST : '127.0.0.1'
  const port = env.PORT || '8080'
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`
}

/** `--token`, else CSB_RELAY_ADMIN_TOKEN, else none. */
export function adminToken(flag: string | undefined, env: Environment = processEnv()): string | undefined {
  return flag ?? (env.CSB_RELAY_ADMIN_TOKEN || undefined)
}

/** `--write-key`, else the first of CSB_RELAY_WRITE_KEYS (comma-separated), else none. */
export function firstWriteKey(flag: string | undefined, env: Environment = processEnv()): string | undefined {
  return flag ?? (env.CSB_RELAY_WRITE_KEYS ?? '').split(',').map((k) => k.trim()).find(Boolean)
}

/** CSB_API_KEY (`csb-relay csb set` takes the key only from the environment, never as a flag). */
export function csbApiKey(env: Environment = processEnv()): string | undefined {
  return env.CSB_API_KEY || undefined
}
