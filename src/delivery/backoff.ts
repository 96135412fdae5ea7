/**
 * When the next attempt of a retryable failure may start. The one place the relay's backoff
 * lives: exponential with full jitter (a uniformly random delay between 0 and
 * min(cap, base * 2^(attempt-1))), never earlier than CSB's Retry-After.
 */
export interface BackoffSettings {
  backoffBaseMs: number
  backoffCapMs: number
}

/**
 * @param attempt the attempt that just failed, counting from 1
 * @param retryAfterMs what CSB asked for in Retry-After, when it did
 * @param random a source of numbers in [0, 1) (injectable for tests)
 */
export function retryDelayMs(
  attempt: number,
  settings: BackoffSettings,
  retryAfterMs?: number | null,
  random: () => number = Math.random
): number {
  return Math.max(
    retryAfterMs ?? 0,
    Math.floor(random() * Math.min(settings.backoffCapMs, settings.backoffBaseMs * 2 ** Math.max(0, attempt - 1)))
  )
}

/** Parses a Retry-After header value (delta-seconds or an HTTP date) into ms from `now`. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (value == null || value.trim() === '') return null
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
