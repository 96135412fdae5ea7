/**
 * Sees the request the destination sends to CSB and CSB's response, without changing the
 * destination: `captureHooks` gives the RequestHooks (actions-core.ts) of one action run, which
 * - note each request's method, URL, headers and body as the action asks for it, after the guard
 *   (names.ts) let it through;
 * - keep the final headers (after defaults and auth) of a request that gets no response;
 * - add the response's status, headers and body, and the request's headers as sent;
 * - in a dry run, stop each request before anything is sent.
 * `finishExchanges` (runSubscriptions calls it when a run ends) makes every exchange plain data,
 * secrets redacted.
 */
import { REDACTED } from '../destination'
import type { RequestHooks } from './actions-core'
import type { RequestGuard } from './names'
import { isSecretName } from './secrets'

export interface CapturedRequest {
  method: string
  url: string
  headers: Record<string, string>
  body: unknown
}

export interface CapturedResponse {
  status: number
  headers: Record<string, string>
  body: unknown
}

export interface Exchange {
  request: CapturedRequest
  response?: CapturedResponse
  /**
   * The final headers as the request client was about to send them, kept as they are until
   * `finishExchanges`: they matter only when no response arrives (the response brings the request's
   * headers with it), so the usual exchange never converts them.
   */
  sent?: { headers: unknown; basicAuth: boolean }
}

export interface CaptureContext {
  exchanges: Exchange[]
  /** Stop each request before it is sent, after it is recorded. */
  dryRun: boolean
  /** Checks each request before it is sent (names.ts); not called in a dry run. */
  guard?: RequestGuard
  /**
   * Why the guard refused a request, when it did: the destination reports any error of its request
   * client as a network failure, so the run's error is this, not the one the destination throws.
   */
  refused?: unknown
}

/** Thrown inside the request client in a dry run; never escapes `runSubscriptions` as a failure in a dry run. */
export class DryRunStop extends Error {
  override name = 'DryRunStop'
}

/**
 * Header names as seen, each with its lower-case form and whether it names a credential: the
 * same few come back on every request (three sets of headers each). Bounded, since the names are
 * the destination's and CSB's; started over when full.
 */
const headerNames = new Map<string, { key: string; secret: boolean }>()
const HEADER_NAMES_MAX = 1000

/** Headers as a plain object, lower-case names, credentials replaced by REDACTED (secrets.ts names them). */
export function redactHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  const put = (name: string, value: unknown) => {
    let known = headerNames.get(name)
    if (!known) {
      const key = name.toLowerCase()
      known = { key, secret: isSecretName(key) }
      if (headerNames.size >= HEADER_NAMES_MAX) headerNames.clear()
      headerNames.set(name, known)
    }
    out[known.key] = known.secret ? REDACTED : String(value)
  }
  if (headers && typeof (headers as { forEach?: unknown }).forEach === 'function' && !Array.isArray(headers)) {
    ;(headers as { forEach(cb: (value: string, name: string) => void): void }).forEach((value, name) => put(name, value))
  } else if (Array.isArray(headers)) {
    for (const [name, value] of headers as Array<[string, string]>) put(name, value)
  } else if (headers && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers)) put(name, value)
  }
  return out
}

function parseBody(body: unknown): unknown {
  if (typeof body !== 'string') return body
  try {
    return JSON.parse(body)
  } catch {
    return body
  }
}

/** Converts the headers of a request that got no response (see `Exchange.sent`). */
function finishExchange(exchange: Exchange): void {
  const sent = exchange.sent
  if (!sent) return
  exchange.sent = undefined
  exchange.request.headers = { ...exchange.request.headers, ...redactHeaders(sent.headers) }
  if (sent.basicAuth) exchange.request.headers.authorization = REDACTED
}

/** Completes the exchanges of one run (call when it has ended): plain objects, secrets redacted. */
export function finishExchanges(exchanges: Exchange[]): void {
  for (const exchange of exchanges) finishExchange(exchange)
}

/** The hooks that record one action run's requests into `context` (see the module comment). */
export function captureHooks(context: CaptureContext): RequestHooks {
  const last = () => context.exchanges[context.exchanges.length - 1] as Exchange | undefined
  return {
    request({ method, url, headers, json, body }) {
      const content = json !== undefined ? json : parseBody(body)
      const record = () => {
        context.exchanges.push({ request: { method, url, headers: redactHeaders(headers), body: content } })
      }
      const guard = context.guard
      const wait = guard && !context.dryRun ? guard(url, content) : undefined
      if (!wait) {
        record()
        return undefined
      }
      // The guard holds the request back (a new feature name) or refuses it: then nothing is sent or recorded.
      return wait.then(record, (refusal: unknown) => {
        context.refused = refusal
        throw refusal
      })
    },
    sending(final) {
      const exchange = last()
      if (exchange) exchange.sent = final
      if (context.dryRun) {
        if (exchange) finishExchange(exchange)
        throw new DryRunStop('dry run: request not sent')
      }
    },
    answered(answer) {
      const exchange = last()
      if (!exchange) return
      exchange.sent = undefined
      exchange.request.url = answer.url
      exchange.request.headers = { ...redactHeaders(answer.requestHeaders), ...exchange.request.headers }
      exchange.response = { status: answer.status, headers: redactHeaders(answer.headers), body: answer.body }
    }
  }
}
