/**
 * The relay's configuration: every setting a user might change, with its default, in one place.
 * Precedence: command-line flags over environment variables over the JSON config file over defaults.
 */
import os from 'node:os'
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { deliveryDefaults, type CsbSettings, type DeliverySettings, type SubscriptionConfig } from '../delivery'
import { configSchema, findUnknownKey } from './config-schema'
import { ConfigError } from './config-error'
import { parseSources, type SourceConfig } from './config-sources'
import { destinationNamesOf, parseConsent, retentionOf, type ConsentConfig } from './config-privacy'
import { processEnv, type Environment } from './env'
import { parseDestinations, type DestinationConfig } from './destinations-config'

// Delivery owns its settings' shape and defaults; the CLI only loads them.
export type { CsbSettings, DeliverySettings, SubscriptionConfig }
export { ConfigError }
export type { SourceConfig }

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
  /** Days delivered and skipped events, with their samples, are kept (docs/privacy.md). */
  retentionDays: number
  /** Days dead letters are kept. */
  deadLetterRetentionDays: number
  /** What the store is given: the days in ms, or `store.retentionMs` / `store.deadLetterRetentionMs` when the file sets them instead. */
  retentionMs: number
  deadLetterRetentionMs: number
  /** How often the relay prunes what is past its retention; the first prune runs a minute after start, or after this when shorter. */
  pruneIntervalMs: number
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
  /** Destination name → the end-user consent categories it needs (config-privacy.ts, docs/privacy.md). */
  consent?: ConsentConfig
  /** Segment Actions definitions delivered to beside CSB (destinations-config.ts, docs/destinations.md). */
  destinations: DestinationConfig[]
  ingest: IngestSettings
  delivery: DeliverySettings
  /** Worker threads that run the destination (CSB_RELAY_DELIVERY_THREADS; 0: the main thread). */
  deliveryThreads: number
  store: StoreSettings
  logLevel: string
  /** The relay's URL as browsers reach it (analytics.js is told to send there); absent: as each request came in. */
  publicUrl?: string
  /** Behind a proxy: take the client's host, scheme and address from its X-Forwarded-* headers. */
  trustProxy: boolean
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
  trustProxy: false,
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
    retentionDays: 7,
    deadLetterRetentionDays: 30,
    pruneIntervalMs: HOUR
  } satisfies Partial<StoreSettings>
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
  // Unknown keys were refused with the rest of the file's (CONFIG_SCHEMA): every key here is base's.
  for (const [key, value] of Object.entries(override as Json)) {
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

/** Every key a config file may hold (config-schema.ts). */
export const CONFIG_SCHEMA = configSchema(defaults)

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
  const unknown = findUnknownKey(file, CONFIG_SCHEMA)
  if (unknown) throw new ConfigError(`${unknown.message} (in ${configFile})`)

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
    consent: parseConsent(file.consent, destinationNamesOf(file.destinations)),
    destinations: destinationsOf(file.destinations),
    ingest: ingestSettings(file.ingest),
    delivery: mergeNumbers(defaults.delivery, file.delivery, 'delivery'),
    deliveryThreads: deliveryThreads(env.CSB_RELAY_DELIVERY_THREADS),
    store: storeSettings(file.store),
    logLevel: String(env.LOG_LEVEL ?? file.logLevel ?? defaults.logLevel),
    publicUrl: publicUrlOf(env.CSB_RELAY_PUBLIC_URL || file.publicUrl, env.CSB_RELAY_PUBLIC_URL ? 'CSB_RELAY_PUBLIC_URL' : '"publicUrl"'),
    trustProxy: trustProxyOf(file.trustProxy),
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

/** `http(s)://host[:port][/path]`, without a trailing slash; the setting's name is in every refusal. */
function publicUrlOf(value: unknown, name: string): string | undefined {
  if (value === undefined || value === '') return undefined
  const refuse = (problem: string) => new ConfigError(`${name} must ${problem}, e.g. "https://relay.example.com" or "https://www.example.com/relay"; got ${JSON.stringify(value)}`)
  const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined
  if (!url) throw refuse("be the relay's URL as browsers reach it")
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('start with https:// or http://')
  if (url.username || url.password || url.search || url.hash) throw refuse('have no user, password, query or fragment')
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`
}

function trustProxyOf(value: unknown): boolean {
  if (value === undefined || typeof value === 'boolean') return value ?? defaults.trustProxy
  throw new ConfigError(`"trustProxy" must be true (behind a proxy that sets X-Forwarded-Host/-Proto/-For) or false, got ${JSON.stringify(value)}`)
}

function storeSettings(fromFile: unknown): StoreSettings {
  // The milliseconds forms are not among the defaults' keys (the days are the settings); they are read aside.
  const { retentionMs, deadLetterRetentionMs, ...rest } = (fromFile && typeof fromFile === 'object' && !Array.isArray(fromFile) ? fromFile : {}) as Json
  const merged = mergeNumbers(defaults.store, fromFile === undefined ? undefined : rest, 'store')
  const ms = (value: unknown, name: string) => (value === undefined ? undefined : toNumber(value, `"store.${name}"`))
  return retentionOf(
    merged,
    { retentionMs: ms(retentionMs, 'retentionMs'), deadLetterRetentionMs: ms(deadLetterRetentionMs, 'deadLetterRetentionMs') },
    { retentionDays: rest.retentionDays !== undefined, deadLetterRetentionDays: rest.deadLetterRetentionDays !== undefined }
  )
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
