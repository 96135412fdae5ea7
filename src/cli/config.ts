/**
 * The relay's configuration: every setting a user might change, with its default, in one place.
 * Precedence: command-line flags over environment variables over the JSON config file over defaults.
 */
import os from 'node:os'
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { deliveryDefaults, type CsbSettings, type DeliverySettings, type SubscriptionConfig } from '../delivery'
import { processEnv, type Environment } from './env'
import { parseDestinations, type DestinationConfig } from './destinations-config'

// Delivery owns its settings' shape and defaults; the CLI only loads them.
export type { CsbSettings, DeliverySettings, SubscriptionConfig }

export interface SourceConfig {
  /** Recorded with each event; shown in the dashboard instead of the write key. */
  name: string
  writeKey: string
  /**
   * Segment's Webhooks destinations sign with it (`X-Signature`); when set, /v1/webhook requests
   * of this source must carry a signature that verifies (docs/from-segment.md).
   */
  sharedSecret?: string
}

export interface IngestSettings {
  /** Largest accepted event, in bytes of JSON. Segment: 32 KB. */
  maxEventBytes: number
  /** Largest accepted request body, in bytes (after gunzip). Segment: 500 KB. */
  maxRequestBytes: number
  /** Largest accepted /v1/webhook body, in bytes (after gunzip): a Webhooks (Actions) batch of 1,000 events. */
  maxWebhookRequestBytes: number
  /** Most events in one batch. Segment: 2,500. */
  maxBatchEvents: number
  /** Unfinished events above which ingest answers 429. */
  maxBacklog: number
  /** Retry-After (seconds) sent with a backpressure 429. */
  backpressureRetryAfterSeconds: number
  /** Threads that parse large requests off the request thread; 0: none. Default 1 with more than one CPU. */
  parseThreads: number
}

export interface StoreSettings {
  dedupeWindowMs: number
  retentionMs: number
}

export interface RelayConfig {
  port: number
  host: string
  /** `./data/csb-relay.db`, `sqlite:PATH` or `postgres://...`. */
  db: string
  sources: SourceConfig[]
  adminToken?: string
  /** Absent until CSB is configured: events are accepted and held meanwhile. */
  csb?: CsbSettings
  /** Replaces the destination's presets when present. */
  subscriptions?: SubscriptionConfig[]
  /** Destination filters, applied in order before the destination runs (validated by delivery/routing). */
  filters?: unknown[]
  /** Segment Actions definitions delivered to beside CSB (destinations-config.ts, docs/destinations.md). */
  destinations: DestinationConfig[]
  ingest: IngestSettings
  delivery: DeliverySettings
  /** Worker threads that run the destination (CSB_RELAY_DELIVERY_THREADS; 0: the main thread). */
  deliveryThreads: number
  store: StoreSettings
  logLevel: string
  /** Where the config came from, for messages. */
  configFile?: string
}

const HOUR = 3_600_000

export const defaults = {
  port: 8080,
  host: '127.0.0.1',
  db: './data/csb-relay.db',
  logLevel: 'info',
  deliveryThreads: 0,
  ingest: {
    maxEventBytes: 32 * 1024,
    maxRequestBytes: 500 * 1024,
    maxWebhookRequestBytes: 4 * 1024 * 1024,
    maxBatchEvents: 2500,
    maxBacklog: 1_000_000,
    backpressureRetryAfterSeconds: 10,
    parseThreads: os.availableParallelism() > 1 ? 1 : 0
  } satisfies IngestSettings,
  delivery: deliveryDefaults,
  store: {
    dedupeWindowMs: 24 * HOUR,
    retentionMs: 7 * 24 * HOUR
  } satisfies StoreSettings
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export interface ConfigSources {
  argv?: string[]
  env?: Environment
  cwd?: string
}

type Json = Record<string, unknown>

function readConfigFile(file: string): Json {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`config file ${file} cannot be read (${(err as Error).message}). Check --config / CSB_RELAY_CONFIG.`)
  }
  try {
    const parsed = JSON.parse(text) as unknown
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the top level must be an object')
    return parsed as Json
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`)
  }
}

function toNumber(value: unknown, name: string, { min = 0, integer = true } = {}): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new ConfigError(`${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(value)}`)
  }
  return n
}

function mergeNumbers<T extends object>(base: T, override: unknown, section: string): T {
  if (override === undefined) return { ...base }
  if (!override || typeof override !== 'object' || Array.isArray(override)) {
    throw new ConfigError(`"${section}" in the config file must be an object`)
  }
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) }
  for (const [key, value] of Object.entries(override as Json)) {
    if (!(key in base)) {
      throw new ConfigError(`unknown setting "${section}.${key}"; known: ${Object.keys(base).join(', ')}`)
    }
    const current = (base as Record<string, unknown>)[key]
    if (typeof current === 'boolean') {
      if (typeof value !== 'boolean') throw new ConfigError(`"${section}.${key}" must be true or false`)
      out[key] = value
    } else {
      out[key] = toNumber(value, `"${section}.${key}"`)
    }
  }
  return out as T
}

function parseSources(fileSources: unknown, envKeys: string | undefined): SourceConfig[] {
  const sources: SourceConfig[] = []
  if (fileSources !== undefined) {
    if (!Array.isArray(fileSources)) throw new ConfigError('"sources" must be an array of {"name", "writeKey", "sharedSecret"?}')
    fileSources.forEach((s, i) => {
      const src = s as Json
      if (!src || typeof src.writeKey !== 'string' || src.writeKey === '') {
        throw new ConfigError(`sources[${i}].writeKey must be a non-empty string`)
      }
      const source: SourceConfig = { name: typeof src.name === 'string' && src.name ? src.name : `source-${i + 1}`, writeKey: src.writeKey }
      if (src.sharedSecret !== undefined) {
        if (typeof src.sharedSecret !== 'string' || src.sharedSecret === '') {
          throw new ConfigError(`sources[${i}].sharedSecret must be a non-empty string (the Shared Secret set in Segment's Webhooks destination), or left out`)
        }
        source.sharedSecret = src.sharedSecret
      }
      sources.push(source)
    })
  }
  if (envKeys) {
    envKeys
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean)
      .forEach((writeKey, i) => sources.push({ name: `env-${i + 1}`, writeKey }))
  }
  return sources
}

function parseCsb(file: unknown, env: Environment): CsbSettings | undefined {
  const fromFile = (file ?? {}) as Json
  if (file !== undefined && (typeof file !== 'object' || Array.isArray(file))) {
    throw new ConfigError('"csb" in the config file must be an object: {"apiKey", "baseUrl", ...}')
  }
  const apiKey = env.CSB_API_KEY || (fromFile.apiKey as string | undefined)
  const baseUrl = env.CSB_BASE_URL || (fromFile.baseUrl as string | undefined)
  if (!apiKey && !baseUrl) return undefined
  if (!apiKey) throw new ConfigError('CSB base URL is set but the API key is not: set CSB_API_KEY or "csb.apiKey"')
  if (!baseUrl) throw new ConfigError('CSB API key is set but the base URL is not: set CSB_BASE_URL or "csb.baseUrl" (https://<tenant>.customersuccessbox.com)')
  const authScheme = (env.CSB_AUTH_SCHEME || fromFile.authScheme || 'bearer') as string
  if (authScheme !== 'bearer' && authScheme !== 'basic') {
    throw new ConfigError(`CSB auth scheme must be "bearer" or "basic", got "${authScheme}"`)
  }
  const csb: CsbSettings = { apiKey, baseUrl, authScheme }
  if (typeof fromFile.defaultProductId === 'string') csb.defaultProductId = fromFile.defaultProductId
  if (typeof fromFile.defaultModuleId === 'string') csb.defaultModuleId = fromFile.defaultModuleId
  if (typeof fromFile.prefixCustomTraits === 'boolean') csb.prefixCustomTraits = fromFile.prefixCustomTraits
  return csb
}

const KNOWN_TOP_LEVEL = new Set([
  'port', 'host', 'db', 'sources', 'adminToken', 'csb', 'subscriptions', 'filters', 'ingest', 'delivery', 'store', 'logLevel', 'destinations'
])

export function loadConfig({ argv = [], env = processEnv(), cwd = process.cwd() }: ConfigSources = {}): RelayConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' }
    },
    strict: true,
    allowPositionals: false
  })
  const configPath = values.config ?? env.CSB_RELAY_CONFIG
  const configFile = configPath ? path.resolve(cwd, configPath) : undefined
  const file: Json = configFile ? readConfigFile(configFile) : {}
  for (const key of Object.keys(file)) {
    if (!KNOWN_TOP_LEVEL.has(key)) {
      throw new ConfigError(`unknown setting "${key}" in ${configFile}; known: ${[...KNOWN_TOP_LEVEL].join(', ')}`)
    }
  }

  const port = toNumber(values.port ?? env.PORT ?? file.port ?? defaults.port, 'port', { min: 0 })
  if (port > 65535) throw new ConfigError(`port must be at most 65535, got ${port}`)
  const host = String(values.host ?? env.HOST ?? file.host ?? defaults.host)
  const db = String(values.db ?? env.CSB_RELAY_DB ?? file.db ?? defaults.db)

  if (file.subscriptions !== undefined && !Array.isArray(file.subscriptions)) {
    throw new ConfigError('"subscriptions" must be an array of {"subscribe", "partnerAction", "mapping"}')
  }
  if (file.filters !== undefined && !Array.isArray(file.filters)) {
    throw new ConfigError('"filters" must be an array of filter rules')
  }

  return {
    port,
    host,
    db,
    sources: parseSources(file.sources, env.CSB_RELAY_WRITE_KEYS),
    adminToken: env.CSB_RELAY_ADMIN_TOKEN || (typeof file.adminToken === 'string' ? file.adminToken : undefined) || undefined,
    csb: parseCsb(file.csb, env),
    subscriptions: file.subscriptions as SubscriptionConfig[] | undefined,
    filters: file.filters as unknown[] | undefined,
    destinations: destinationsOf(file.destinations),
    ingest: ingestSettings(file.ingest),
    delivery: mergeNumbers(defaults.delivery, file.delivery, 'delivery'),
    deliveryThreads: deliveryThreads(env.CSB_RELAY_DELIVERY_THREADS),
    store: mergeNumbers(defaults.store, file.store, 'store'),
    logLevel: String(env.LOG_LEVEL ?? file.logLevel ?? defaults.logLevel),
    configFile
  }
}

function deliveryThreads(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return defaults.deliveryThreads
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0 || n > 64) {
    throw new ConfigError(`CSB_RELAY_DELIVERY_THREADS must be an integer from 0 (run the destination in the main thread) to 64, got "${text}"`)
  }
  return n
}

function ingestSettings(fromFile: unknown): IngestSettings {
  const ingest = mergeNumbers(defaults.ingest, fromFile, 'ingest')
  const threads = ingest.parseThreads
  if (!Number.isInteger(threads) || threads < 0 || threads > 16) {
    throw new ConfigError(`"ingest.parseThreads" must be an integer from 0 (parse on the request thread) to 16, got ${threads}`)
  }
  return ingest
}

function destinationsOf(fromFile: unknown): DestinationConfig[] {
  try {
    return parseDestinations(fromFile)
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
}
