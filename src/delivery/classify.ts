/**
 * What a failed attempt means: retry at a time (within the retry window) or dead-letter now.
 *
 * Retryable (invariant 5): timeouts, connection errors, HTTP 408, 429 and 5xx except 501, and
 * anything the destination throws as a RetryableError. Everything else (400, 401, 404, a 200
 * with success:false, a missing id, an unexpected exception) is dead-lettered at once.
 */
import { NO_ANSWER_ERROR_CODES, NO_ANSWER_ERROR_NAMES, RETRYABLE_ERROR_CODE } from './actions-core'
import { retryDelayMs, type BackoffSettings } from './backoff'

/** Node's codes for a connection that failed or got no answer, and actions-core's request client's (actions-core.ts). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'EAI_AGAIN',
  'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  ...NO_ANSWER_ERROR_CODES
])

export interface FailureFacts {
  retryable: boolean
  /** HTTP status when CSB answered (or the error carries one). */
  status: number | null
  /** Short, key-free description. */
  reason: string
  /** CSB's Retry-After in ms, when known. */
  retryAfterMs: number | null
  /** A sign that CSB (or the way to it) is overloaded: slow down. */
  congestion: boolean
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501)
}

function errorCode(err: Record<string, unknown>): string | undefined {
  const cause = err.cause as Record<string, unknown> | undefined
  const code = err.code ?? cause?.code
  return typeof code === 'string' ? code.toUpperCase() : undefined
}

/** Facts about an error thrown by the destination (or actions-core, or the network). */
export function describeFailure(error: unknown, responseStatus: number | null = null, retryAfterMs: number | null = null): FailureFacts {
  const err = (error && typeof error === 'object' ? error : { message: String(error) }) as Record<string, unknown>
  const name = typeof err.name === 'string' ? err.name : 'Error'
  const message = typeof err.message === 'string' && err.message ? err.message : name
  const code = errorCode(err) ?? (typeof err.networkErrorCode === 'string' ? err.networkErrorCode.toUpperCase() : undefined)
  const errStatus = typeof err.status === 'number' ? err.status : null
  const errRetryAfter = typeof err.retryAfterMs === 'number' && Number.isFinite(err.retryAfterMs) ? err.retryAfterMs : null
  const network = typeof err.networkErrorCode === 'string' || (code !== undefined && NETWORK_CODES.has(code)) || NO_ANSWER_ERROR_NAMES.has(name)
  // The HTTP status CSB sent wins over the status an error class carries by default.
  const status = responseStatus ?? errStatus
  const retryableCode = code === RETRYABLE_ERROR_CODE
  const retryable = (status !== null && isRetryableStatus(status)) || (responseStatus === null && (network || retryableCode))
  const congestion = retryable && (status === null || status === 429 || status >= 500 || network)
  const label = responseStatus !== null ? `HTTP ${responseStatus}` : network ? `network error${code ? ` ${code}` : ''}` : name
  return { retryable, status: responseStatus ?? (network ? null : errStatus), reason: `${label}: ${message}`, retryAfterMs: retryAfterMs ?? errRetryAfter, congestion }
}

export type Decision =
  | { kind: 'retry'; runAt: Date; firstFailedAt: Date }
  | { kind: 'dead'; reason: string }

export interface RetryContext extends BackoffSettings {
  retryWindowMs: number
}

/**
 * For a failure of attempt number `attempts` (counting from 1): retry at a time inside the
 * window that starts at the event's first failure, or dead-letter.
 */
export function decide(
  facts: FailureFacts,
  attempts: number,
  firstFailedAt: Date | null,
  now: Date,
  settings: RetryContext,
  random: () => number = Math.random
): Decision {
  if (!facts.retryable) return { kind: 'dead', reason: facts.reason }
  const since = firstFailedAt ?? now
  const windowEnd = since.getTime() + settings.retryWindowMs
  if (now.getTime() >= windowEnd) {
    return { kind: 'dead', reason: `retry window (${formatMs(settings.retryWindowMs)}) exhausted after ${attempts} attempts; last error ${facts.reason}` }
  }
  const runAt = Math.min(windowEnd, now.getTime() + retryDelayMs(attempts, settings, facts.retryAfterMs, random))
  return { kind: 'retry', runAt: new Date(runAt), firstFailedAt: since }
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`
  if (ms % 60_000 === 0) return `${ms / 60_000} min`
  if (ms % 1000 === 0) return `${ms / 1000} s`
  return `${ms} ms`
}
