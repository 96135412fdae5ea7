/**
 * Sees the request the destination sends to CSB and CSB's response, without changing the
 * destination: the definition is wrapped so that
 * - each action's `perform` gets a request client that notes the URL, method and JSON body,
 * - `extendRequest` adds request-client hooks (`beforeRequest`: keeps the final headers, after
 *   auth, for a request that gets no response; `afterResponse`: the request's headers, the
 *   response's status, headers and body) and the configured request timeout.
 * `finishExchanges` (runSubscriptions calls it when a run ends) makes every exchange plain data.
 * Exchanges are attributed to the event being delivered through its settings object: the caller
 * puts a CaptureContext under CAPTURE in the settings it passes to the action (see `withCapture`);
 * actions-core hands those settings to `extendRequest` and `perform`, and the request options
 * carry it on to the hooks. (No AsyncLocalStorage: its promise hooks cost every promise.)
 * In a dry run the `beforeRequest` hook stops the request before anything is sent.
 */
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
  /** Stop each request in `beforeRequest`, after it is recorded. */
  dryRun: boolean
  /** The run's default headers say `Content-Type: application/json` (set by `extendRequest`). */
  jsonByDefault?: boolean
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

/** The settings key under which the caller passes the event's CaptureContext (a symbol: JSON and schema validation ignore it). */
export const CAPTURE = Symbol('csb-capture')

/** Settings for one run of the destination: the CSB settings and the capture context. */
export function withCapture<S extends object>(settings: S, context: CaptureContext): S & { [CAPTURE]: CaptureContext } {
  return { ...settings, [CAPTURE]: context }
}

/** The request-option key that carries the context from the request client to its hooks (a function: option merging copies objects but not functions). */
const OPTION = 'csbCaptureContext'

function contextOf(holder: unknown): CaptureContext | undefined {
  return (holder as { [CAPTURE]?: CaptureContext } | undefined)?.[CAPTURE]
}

function contextFromOptions(options: unknown): CaptureContext | undefined {
  const get = (options as Record<string, unknown> | undefined)?.[OPTION]
  return typeof get === 'function' ? (get as () => CaptureContext)() : undefined
}

/** Headers as a plain object, lower-case names, credentials replaced by "[redacted]" (secrets.ts names them). */
export function redactHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  const put = (name: string, value: unknown) => {
    const key = name.toLowerCase()
    out[key] = isSecretName(key) ? '[redacted]' : String(value)
  }
  if (headers && typeof (headers as { raw?: unknown }).raw === 'function') {
    // node-fetch's Headers (actions-core's client): raw() is a plain object of value lists; forEach
    // would sort a copy of every header on each call.
    const raw = (headers as { raw(): Record<string, string[]> }).raw()
    for (const name of Object.keys(raw)) put(name, raw[name].join(', '))
  } else if (headers && typeof (headers as { forEach?: unknown }).forEach === 'function' && !Array.isArray(headers)) {
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

type AnyFn = (...args: any[]) => any
type RequestFn = (url: string, options?: Record<string, unknown>) => Promise<unknown>

function isJsonContentType(headers: unknown): boolean {
  return redactHeaders(headers)['content-type'] === 'application/json'
}

function lastExchange(context: CaptureContext | undefined): Exchange | undefined {
  return context?.exchanges[context.exchanges.length - 1]
}

/**
 * The action's request client, noting each request; the capture context rides in each request's
 * options (under OPTION, as a function: option merging copies it as it is) to the hooks.
 */
function wrapRequest(request: RequestFn, context: CaptureContext | undefined): RequestFn {
  if (!context) return request
  const carry = () => context
  const send: RequestFn = (url, options = {}) => {
    const json = options.json
    const headers = redactHeaders(options.headers)
    context.exchanges.push({
      request: {
        method: String(options.method ?? 'GET').toUpperCase(),
        url,
        headers,
        body: json !== undefined ? json : parseBody(options.body)
      }
    })
    if (json !== undefined && options.body === undefined && context.jsonByDefault && !('content-type' in headers)) {
      // The same bytes as actions-core's client sends for `json` (JSON.stringify, content-type
      // application/json, here from the defaults), without the second Request it builds to add them.
      return request(url, { ...options, json: undefined, body: JSON.stringify(json), [OPTION]: carry })
    }
    return request(url, { ...options, [OPTION]: carry })
  }
  const guard = context.guard
  if (!guard || context.dryRun) return send
  // The guard may hold a request back (a new feature name, names.ts) or refuse it: then nothing is sent or recorded.
  return (url, options = {}) => {
    const wait = guard(url, options.json !== undefined ? options.json : parseBody(options.body))
    if (!wait) return send(url, options)
    return wait.then(
      () => send(url, options),
      (refusal: unknown) => {
        context.refused = refusal
        throw refusal
      }
    )
  }
}

const beforeRequest = (options: Record<string, unknown>) => {
  const context = contextFromOptions(options)
  const exchange = lastExchange(context)
  if (exchange) exchange.sent = { headers: options.headers, basicAuth: Boolean(options.username || options.password) }
  if (context?.dryRun) {
    if (exchange) finishExchange(exchange)
    throw new DryRunStop('dry run: request not sent')
  }
}

/** Converts the headers of a request that got no response (see `Exchange.sent`). */
function finishExchange(exchange: Exchange): void {
  const sent = exchange.sent
  if (!sent) return
  exchange.sent = undefined
  exchange.request.headers = { ...exchange.request.headers, ...redactHeaders(sent.headers) }
  if (sent.basicAuth) exchange.request.headers.authorization = '[redacted]'
}

/** Completes the exchanges of one run (call when it has ended): plain objects, secrets redacted. */
export function finishExchanges(exchanges: Exchange[]): void {
  for (const exchange of exchanges) finishExchange(exchange)
}

const afterResponse = (request: { url: string; headers: unknown }, options: unknown, response: Record<string, any>) => {
  const exchange = lastExchange(contextFromOptions(options))
  if (exchange) {
    exchange.sent = undefined
    exchange.request.url = request.url
    exchange.request.headers = { ...redactHeaders(request.headers), ...exchange.request.headers }
    exchange.response = {
      status: Number(response.status),
      headers: redactHeaders(response.headers),
      body: response.data !== undefined ? response.data : response.content
    }
  }
}

const BEFORE_REQUEST: readonly AnyFn[] = Object.freeze([beforeRequest])
const AFTER_RESPONSE: readonly AnyFn[] = Object.freeze([afterResponse])

export interface InstrumentOptions {
  /** The request timeout, read on every request (settings may change at runtime). */
  timeoutMs: () => number
}

/** A copy of the definition whose requests are captured (see the module comment). */
export function instrumentDefinition<D extends { actions: Record<string, any>; extendRequest?: AnyFn }>(
  definition: D,
  options: InstrumentOptions
): D {
  const actions: Record<string, unknown> = {}
  for (const [slug, action] of Object.entries(definition.actions)) {
    const perform = action.perform as AnyFn | undefined
    actions[slug] = perform
      ? { ...action, perform: (request: RequestFn, data: { settings?: unknown }) => perform(wrapRequest(request, contextOf(data?.settings)), data) }
      : action
  }
  const extendRequest = definition.extendRequest
  // The last options built, returned again (the same object) while the destination's own options
  // and the timeout stay the same: actions-core only reads them (its option merging builds new
  // objects), and attempt.ts then finds its shared request client by identity.
  let built: { base: Record<string, unknown>; timeout: number; out: Record<string, unknown>; jsonByDefault: boolean } | undefined
  return {
    ...definition,
    actions,
    // Runs once per action run: built by assignment, with the hook lists shared when the destination
    // has none of its own (actions-core merges option lists into new arrays, never into these). It
    // carries nothing of the run itself (the capture context goes with each request), so runs with
    // the same settings get the same options and may share a request client (attempt.ts).
    extendRequest: (data: { settings?: unknown }) => {
      const base = (extendRequest?.(data) ?? {}) as Record<string, unknown>
      const timeout = options.timeoutMs()
      if (!built || built.timeout !== timeout || !sameOptions(built.base, base)) {
        const out: Record<string, unknown> = { ...base }
        out.timeout = timeout
        // actions-core's prepareResponse reads the body into `content` / `data` (all the destination and
        // these hooks read) from a clone of the response unless told not to; nothing reads the body again.
        out.skipResponseCloning = true
        out.beforeRequest = base.beforeRequest ? [...(base.beforeRequest as AnyFn[]), beforeRequest] : BEFORE_REQUEST
        out.afterResponse = base.afterResponse ? [...(base.afterResponse as AnyFn[]), afterResponse] : AFTER_RESPONSE
        built = { base, timeout, out, jsonByDefault: isJsonContentType(base.headers) }
      }
      const context = contextOf(data?.settings)
      if (context) context.jsonByDefault = built.jsonByDefault
      return built.out
    }
  } as D
}

/**
 * Whether two results of the destination's `extendRequest` are the same options: the same keys,
 * each value identical or, for plain objects (headers), the same keys with identical values; lists
 * (hooks) hold the identical functions. Anything else counts as different (options built anew).
 */
function sameOptions(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) {
    const x = a[key]
    const y = b[key]
    if (x === y) continue
    if (!(key in b) || !x || !y || typeof x !== 'object' || typeof y !== 'object') return false
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
