/**
 * Removes secret values (the API key, and any other secret a caller names) from text that may be
 * shown to someone: an error message quoting CSB's answer, a log line, a stored sample. A secret
 * is removed in every form it takes on the way out: as written, JSON-escaped, URL-encoded, and as
 * HTTP Basic credentials (base64 of `<secret>:`, with and without its `=` padding).
 */

/** What a removed secret reads as. */
export const REDACTED = '[redacted]'

/**
 * A form of a secret at least this long is removed wherever it appears, even inside a longer
 * word. A shorter one is removed wherever it stands on its own, but not inside a longer run of
 * letters and digits. No secret is exempt for being short: a short API key is still the key, and
 * it would otherwise reach an error message as written. But removing a one- or two-letter secret
 * inside every word would make logs and messages unreadable, and the gaps it left would spell
 * the secret out.
 */
const MIN_SECRET_LENGTH_ANYWHERE = 6

/** Letters and digits: a short form next to one of these is part of a longer word. */
const WORD_CHAR = /[A-Za-z0-9]/
const NOT_AFTER_WORD = '(?<![A-Za-z0-9])'
const NOT_BEFORE_WORD = '(?![A-Za-z0-9])'

export type Scrubber = (text: string) => string

const unchanged: Scrubber = (text) => text

/** A function that removes the given secrets (empty and absent ones aside) from a text, in every form above. */
export function createScrubber(secrets: Iterable<string | undefined | null>): Scrubber {
  const forms = new Set<string>()
  for (const secret of secrets) {
    if (typeof secret === 'string' && secret !== '') for (const form of formsOf(secret)) forms.add(form)
  }
  if (forms.size === 0) return unchanged
  // Longest first, so that a form containing another is removed whole (padding included).
  const alternatives = [...forms].sort((a, b) => b.length - a.length).map(patternOf)
  const pattern = new RegExp(alternatives.join('|'), 'g')
  return (text) => (text === '' ? text : text.replace(pattern, REDACTED))
}

/** The scrubber scrubText made last, by its secrets: callers pass the same few secrets each time. */
let lastScrubber: { key: string; scrub: Scrubber } | undefined

/** `text` without the given secrets; the pattern is built again only when the secrets change. */
export function scrubText(text: string, secrets: Iterable<string | undefined | null>): string {
  const list: string[] = []
  for (const secret of secrets) if (typeof secret === 'string' && secret !== '') list.push(secret)
  const key = JSON.stringify(list)
  if (lastScrubber?.key !== key) lastScrubber = { key, scrub: createScrubber(list) }
  return lastScrubber.scrub(text)
}

function formsOf(secret: string): string[] {
  const basic = Buffer.from(`${secret}:`, 'utf8').toString('base64')
  return [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), basic, basic.replace(/=+$/, '')]
}

function patternOf(form: string): string {
  const escaped = form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  if (form.length >= MIN_SECRET_LENGTH_ANYWHERE) return escaped
  // Only an edge that is a letter or digit can continue a word; a form with a symbol at an edge
  // is removed on that side even next to a word.
  const before = WORD_CHAR.test(form[0]) ? NOT_AFTER_WORD : ''
  const after = WORD_CHAR.test(form[form.length - 1]) ? NOT_BEFORE_WORD : ''
  return `${before}${escaped}${after}`
}
