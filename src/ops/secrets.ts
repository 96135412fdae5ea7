/**
 * Secret scrubbing: the last line of defence that keeps the CSB API key, write keys and the
 * admin token out of logs, metrics and admin answers. Redaction by field name (pino's `redact`,
 * `redactConfig`) covers the expected places; this covers the unexpected ones (a key echoed in
 * an error message, a write key in a URL path) by replacing the secret values themselves.
 */
export const REDACTED = '[redacted]'

/** Secrets shorter than this are not scrubbed by value (they would match ordinary text). */
const MIN_SECRET_LENGTH = 6

export type Scrubber = (text: string) => string

export function createScrubber(secrets: Iterable<string | undefined | null>): Scrubber {
  const values = [...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH))]
  if (values.length === 0) return (text) => text
  // Longest first, so a secret that contains another is replaced whole.
  values.sort((a, b) => b.length - a.length)
  const forms = new Set<string>()
  for (const v of values) {
    forms.add(v)
    // The same secret as it appears inside JSON strings, URLs and Basic auth headers.
    forms.add(JSON.stringify(v).slice(1, -1))
    forms.add(encodeURIComponent(v))
    forms.add(Buffer.from(`${v}:`).toString('base64').replace(/=+$/, ''))
  }
  const pattern = new RegExp([...forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g')
  return (text) => (text.length === 0 ? text : text.replace(pattern, REDACTED))
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
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
      if (typeof s === 'string' && s.length >= MIN_SECRET_LENGTH && !this.values.has(s)) {
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
