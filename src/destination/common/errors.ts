/**
 * The one place where a CustomerSuccessBox answer (or the lack of one) becomes a typed error.
 * Every error thrown here has a numeric `status`; retryable ones are RetryableError and carry
 * `retryAfterMs` when CSB sent Retry-After; network failures carry `networkErrorCode`.
 *
 * | what happened                         | error                          | status            |
 * |---------------------------------------|--------------------------------|-------------------|
 * | 401                                   | InvalidAuthenticationError     | 401               |
 * | 408, 429, 5xx except 501              | RetryableError                 | the HTTP status   |
 * | timeout (ours or the caller's signal) | RetryableError                 | 408               |
 * | connection refused/reset, DNS, TLS    | RetryableError                 | 503               |
 * | 501 and other 4xx (400, 403, 404...)  | IntegrationError               | the HTTP status   |
 * | 200 with `success: false`             | CsbRejectionError              | 400 (`responseStatus` 200) |
 */
import {
  IntegrationError,
  InvalidAuthenticationError,
  RetryableError,
  getErrorCodeFromHttpStatus
} from '@segment/actions-core'

/** Fields this module adds to the errors it throws. */
export interface CsbErrorDetails {
  /** Milliseconds CSB asked us to wait (Retry-After), when it said. */
  retryAfterMs?: number
  /** The HTTP status CSB actually answered with, when it answered. */
  responseStatus?: number
  /** `ETIMEDOUT`, `ECONNREFUSED`, ... for failures without an HTTP answer. */
  networkErrorCode?: string
}

/** CSB answered 200 but `success: false`: a rejection, not retried. */
export class CsbRejectionError extends IntegrationError {
  readonly responseStatus = 200
  constructor(message: string) {
    super(message, 'CSB_REJECTED', 400)
  }
}

type RetryableStatus = ConstructorParameters<typeof RetryableError>[1]

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501)
}

/**
 * Retry-After as milliseconds: delta-seconds (`120`, also `1.5`) or an HTTP date (`Wed, 21 Oct
 * 2015 07:28:00 GMT`, counted from `now`, never negative). Undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (header === null || header === undefined) return undefined
  const text = header.trim()
  if (text === '') return undefined
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  // An HTTP date always names its weekday and month; anything else ("-5", "soon") is unreadable.
  if (!/[a-z]{3}/i.test(text)) return undefined
  const date = Date.parse(text)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}

export interface HttpFailure {
  status: number
  statusText?: string
  /** The endpoint path, e.g. `/api/v1_1/user`. */
  path: string
  retryAfter?: string | null
  /** CSB's message or a short excerpt of its body, already free of the API key. */
  detail?: string
}

/** The typed error for a non-2xx answer. */
export function errorForHttpStatus(failure: HttpFailure): Error {
  const { status, path } = failure
  const said = failure.detail ? `: ${failure.detail}` : ''
  const answered = `CustomerSuccessBox answered ${status}${
    failure.statusText ? ` ${failure.statusText}` : ''
  } to POST ${path}${said}`
  if (status === 401) {
    return withDetails(
      new InvalidAuthenticationError(
        `${answered}. The API key was rejected: copy "API key for POST request" from CustomerSuccessBox (Settings > Developer Console > API Key) and check authScheme`
      ),
      { responseStatus: status }
    )
  }
  if (isRetryableStatus(status)) {
    const retryAfterMs = parseRetryAfter(failure.retryAfter)
    const wait = retryAfterMs !== undefined ? ` (Retry-After ${retryAfterMs} ms)` : ''
    return withDetails(new RetryableError(`${answered}; temporary, will retry${wait}`, status as RetryableStatus), {
      responseStatus: status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {})
    })
  }
  return withDetails(new IntegrationError(`${answered}; not retried`, getErrorCodeFromHttpStatus(status), status), {
    responseStatus: status
  })
}

/** The error for a 200 whose body says `success: false`. */
export function rejectionError(path: string, message: string | undefined): CsbRejectionError {
  const said = message ? `: ${message}` : ' (no message)'
  return new CsbRejectionError(`CustomerSuccessBox rejected POST ${path} with success: false${said}; not retried`)
}

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'REQUESTTIMEOUTERROR',
  'REQUESTCLIENTERROR',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT'
])

/**
 * The typed error for a request that got no HTTP answer: a timeout (ours, or the caller's
 * AbortSignal) is retryable with status 408; anything else (refused, reset, DNS, TLS, dropped)
 * is retryable with status 503. Both carry `networkErrorCode`.
 */
export function errorForNetworkFailure(err: unknown, url: string): Error {
  const e = (err ?? {}) as {
    name?: string
    code?: unknown
    errno?: unknown
    type?: string
    message?: string
    cause?: { code?: unknown }
  }
  const rawCode = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : undefined
  const timedOut =
    (rawCode !== undefined && TIMEOUT_CODES.has(rawCode)) ||
    e.type === 'request-timeout' ||
    e.name === 'TimeoutError' ||
    e.name === 'AbortError'
  const networkErrorCode = rawCode ?? (timedOut ? 'ETIMEDOUT' : 'ECONNECTION')
  if (timedOut) {
    return withDetails(
      new RetryableError(
        `No answer from CustomerSuccessBox at ${url} before the timeout (${networkErrorCode}); will retry`,
        408
      ),
      { networkErrorCode }
    )
  }
  return withDetails(
    new RetryableError(`Could not reach CustomerSuccessBox at ${url} (${networkErrorCode}); will retry`, 503),
    { networkErrorCode }
  )
}

function withDetails<E extends Error>(error: E, details: CsbErrorDetails): E & CsbErrorDetails {
  return Object.assign(error, details)
}
