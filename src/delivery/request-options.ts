/**
 * The cache behind the request options the instrumented `extendRequest` returns (actions-core.ts):
 * one object while the destination's own options and the timeout stay the same, so that the seam
 * can share one request client among the runs that get it. That one object may serve many runs
 * is the seam's assumption (actions-core only reads it), stated where the seam hands it over and
 * checked in its contract test (actions-core.test.ts); nothing here relies on actions-core.
 */

/** Builds the options for the destination's own `base` options and the timeout, once while both stay the same. */
export class RequestOptionsCache {
  private last: { base: Record<string, unknown>; timeout: number; built: Record<string, unknown> } | undefined

  get(base: Record<string, unknown>, timeout: number, build: () => Record<string, unknown>): Record<string, unknown> {
    const last = this.last
    if (last && last.timeout === timeout && sameOptions(last.base, base)) return last.built
    const built = build()
    this.last = { base, timeout, built }
    return built
  }
}

/**
 * Whether two results of a destination's `extendRequest` are the same options: the same keys,
 * each value identical or, for plain objects (headers), the same keys with identical values;
 * lists (hooks) hold the identical functions. Anything else counts as different.
 */
export function sameOptions(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  if (a === b) return true
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) {
    const x = a[key]
    const y = b[key]
    if (x === y) {
      if (x !== undefined || key in b) continue
      return false
    }
    if (!x || !y || typeof x !== 'object' || typeof y !== 'object') return false
    if (Array.isArray(x) || Array.isArray(y)) {
      if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length || x.some((v, i) => v !== y[i])) return false
      continue
    }
    if (Object.getPrototypeOf(x) !== Object.prototype || Object.getPrototypeOf(y) !== Object.prototype) return false
    const inner = Object.keys(x)
    if (inner.length !== Object.keys(y).length) return false
    for (const k of inner) if ((x as Record<string, unknown>)[k] !== (y as Record<string, unknown>)[k] || !(k in y)) return false
  }
  return true
}

/**
 * The Content-Type a request's `headers` option names (any case): undefined when it names none,
 * null when that cannot be told (headers that are not a plain object, or several such names).
 */
export function contentTypeOf(headers: unknown): string | null | undefined {
  if (headers === undefined) return undefined
  if (!headers || typeof headers !== 'object' || Object.getPrototypeOf(headers) !== Object.prototype) return null
  let found: string | undefined
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'content-type') continue
    if (found !== undefined) return null
    found = String(value)
  }
  return found
}
