/**
 * The relay's rules for keeping secrets (the CSB API key, write keys, the admin token, shared
 * secrets, database passwords) out of logs, metrics, the dashboard, admin answers, stored
 * samples and error messages. Two kinds of rule:
 *
 * - by name: a field or header named like a credential (`isSecretName`) has its value
 *   replaced wherever it appears: headers of the samples kept for the dashboard, the
 *   configuration shown to people, fields of log lines;
 * - by value: the secret values the relay knows are removed from any text by the destination's
 *   scrubber (`createScrubber`, the same one that keeps the API key out of the destination's own
 *   error messages, so both follow one rule), here collected from configurations
 *   (`secretValuesOf`) and kept in a set that can grow while the relay runs (`SecretSet`).
 *   This catches the unexpected places: a key echoed in an error message, a write key in a URL.
 *
 * The by-name rules live in delivery because it is the lowest module every user may import
 * (delivery itself, ops and cli).
 */
import { REDACTED, createScrubber, type Scrubber } from '../destination'

/** JSON field names whose value is a credential, wherever they appear. */
const SECRET_FIELDS = ['apiKey', 'writeKey', 'adminToken', 'sharedSecret', 'password', 'authorization', 'cookie'] as const

/** HTTP header names whose value is a credential (lower case, as Node and fetch give them). */
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'cookie'] as const

const normalise = (name: string) => {
  const lower = name.toLowerCase()
  return lower.includes('-') || lower.includes('_') ? lower.replace(/[-_]/g, '') : lower
}
const SECRET_NAMES = new Set([...SECRET_FIELDS, ...SECRET_HEADERS].map(normalise))

/** Whether a field or header of this name holds a credential (case, `-` and `_` aside: `apiKey`, `api_key`, `X-Api-Key`). */
export function isSecretName(name: string): boolean {
  return SECRET_NAMES.has(normalise(name))
}

/**
 * `value` with every field named like a credential replaced by REDACTED, in `value` and the
 * objects nested in it up to `depth` levels below; the same object when there is none (a log
 * line usually has none, and pays one walk).
 */
export function redactSecretFields<T>(value: T, depth = 4): T {
  if (depth < 0 || value === null || typeof value !== 'object' || value instanceof Date || ArrayBuffer.isView(value)) return value
  if (Array.isArray(value)) {
    let out: unknown[] | undefined
    value.forEach((v, i) => {
      const r = redactSecretFields(v, depth - 1)
      if (r !== v) (out ??= value.slice())[i] = r
    })
    return (out ?? value) as T
  }
  let out: Record<string, unknown> | undefined
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key]
    const r = isSecretName(key) && v !== undefined && v !== null ? REDACTED : redactSecretFields(v, depth - 1)
    if (r !== v) Object.defineProperty((out ??= copyOf(value as object)), key, { value: r, enumerable: true, writable: true, configurable: true })
  }
  return (out ?? value) as T
}

/** A shallow, writable copy that keeps an Error an Error (its message and stack are not enumerable); frozen values stay untouched. */
function copyOf(value: object): Record<string, unknown> {
  const descriptors = Object.getOwnPropertyDescriptors(value)
  for (const descriptor of Object.values(descriptors)) descriptor.configurable = true
  return Object.defineProperties(Object.create(Object.getPrototypeOf(value)), descriptors)
}

/**
 * Secrets that can grow while the relay runs (CSB settings given through the admin API): the
 * logger and the admin API scrub with whatever the set holds at the time.
 */
export class SecretSet {
  private readonly values = new Set<string>()
  private scrubber: Scrubber = (text) => text

  constructor(secrets: Iterable<string | undefined | null> = []) {
    this.add(...secrets)
  }

  add(...secrets: Array<string | undefined | null>): void {
    let added = false
    for (const s of secrets) {
      if (typeof s === 'string' && s !== '' && !this.values.has(s)) {
        this.values.add(s)
        added = true
      }
    }
    if (added) this.scrubber = createScrubber(this.values)
  }

  readonly scrub: Scrubber = (text) => this.scrubber(text)
}

/** Replaces secrets in every string of a JSON-like value (returns a copy). */
export function scrubValue<T>(value: T, scrub: Scrubber): T {
  if (typeof value === 'string') return scrub(value) as unknown as T
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, scrub)) as unknown as T
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = scrubValue(v, scrub)
    return out as T
  }
  return value
}

const DB_URL_PASSWORD = /^(postgres(?:ql)?:\/\/[^:/@]*):([^/]*)@/i

/** A database URL without its password (`postgres://user:[redacted]@host/db`); paths unchanged. */
export function redactDbUrl(db: string): string {
  return db.replace(DB_URL_PASSWORD, `$1:${REDACTED}@`)
}

/** How a secret is shown to people: its length only, so they can tell which one is set. */
export function redactSecret(secret: string): string {
  return secret ? `[redacted, ${secret.length} chars]` : ''
}

/**
 * A configuration as shown to people (dashboard, `/api/config`): every field named like a
 * credential shows only its length, and database URLs lose their password.
 */
export function redactConfig(config: object): Record<string, unknown> {
  return redactFields(config) as Record<string, unknown>
}

function redactFields(value: unknown): unknown {
  if (typeof value === 'string') return redactDbUrl(value)
  if (Array.isArray(value)) return value.map(redactFields)
  if (!value || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    if (!isSecretName(key) || v === undefined || v === null) out[key] = redactFields(v)
    else out[key] = typeof v === 'string' ? redactSecret(v) : REDACTED
  }
  return out
}

/** Every secret value in a configuration: fields named like a credential, and database URL passwords. */
export function secretValuesOf(config: object): string[] {
  const found: string[] = []
  const walk = (value: unknown, secretField: boolean): void => {
    if (typeof value === 'string') {
      if (secretField) found.push(value)
      const password = DB_URL_PASSWORD.exec(value)?.[2]
      if (password) found.push(password)
    } else if (Array.isArray(value)) {
      for (const v of value) walk(v, secretField)
    } else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) walk(v, secretField || isSecretName(key))
    }
  }
  walk(config, false)
  return found
}
