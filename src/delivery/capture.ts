/**
 * Sees the request the destination sends to CSB and CSB's response, without changing the
 * destination: the definition is wrapped so that
 * - each action's `perform` gets a request client that notes the URL, method and JSON body,
 * - `extendRequest` adds request-client hooks (`beforeRequest`: final headers, after auth;
 *   `afterResponse`: status, headers, body) and the configured request timeout.
 * Exchanges are attributed to the event being delivered through AsyncLocalStorage.
 * In a dry run the `beforeRequest` hook stops the request before anything is sent.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

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
}

export interface CaptureContext {
  exchanges: Exchange[]
  /** Stop each request in `beforeRequest`, after it is recorded. */
  dryRun: boolean
}

/** Thrown inside the request client in a dry run; never escapes `runCaptured`'s callers as a failure. */
export class DryRunStop extends Error {
  override name = 'DryRunStop'
}

const storage = new AsyncLocalStorage<CaptureContext>()

export function runCaptured<T>(context: CaptureContext, fn: () => Promise<T>): Promise<T> {
  return storage.run(context, fn)
}

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'cookie'])

/** Headers as a plain object, lower-case names, secrets replaced by "[redacted]". */
export function redactHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  const put = (name: string, value: unknown) => {
    const key = name.toLowerCase()
    out[key] = SECRET_HEADERS.has(key) ? '[redacted]' : String(value)
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

type AnyFn = (...args: any[]) => any
type RequestFn = (url: string, options?: Record<string, unknown>) => Promise<unknown>

function currentExchange(): Exchange | undefined {
  const context = storage.getStore()
  return context?.exchanges[context.exchanges.length - 1]
}

function wrapRequest(request: RequestFn): RequestFn {
  return (url, options = {}) => {
    const context = storage.getStore()
    if (context) {
      context.exchanges.push({
        request: {
          method: String(options.method ?? 'GET').toUpperCase(),
          url,
          headers: redactHeaders(options.headers),
          body: options.json !== undefined ? options.json : parseBody(options.body)
        }
      })
    }
    return request(url, options)
  }
}

const beforeRequest = (options: Record<string, unknown>) => {
  const exchange = currentExchange()
  if (exchange) {
    exchange.request.headers = { ...exchange.request.headers, ...redactHeaders(options.headers) }
    if (options.username || options.password) exchange.request.headers.authorization = '[redacted]'
  }
  if (storage.getStore()?.dryRun) throw new DryRunStop('dry run: request not sent')
}

const afterResponse = (request: { url: string; headers: unknown }, _options: unknown, response: Record<string, any>) => {
  const exchange = currentExchange()
  if (exchange) {
    exchange.request.url = request.url
    exchange.request.headers = { ...redactHeaders(request.headers), ...exchange.request.headers }
    exchange.response = {
      status: Number(response.status),
      headers: redactHeaders(response.headers),
      body: response.data !== undefined ? response.data : response.content
    }
  }
}

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
    actions[slug] = perform ? { ...action, perform: (request: RequestFn, data: unknown) => perform(wrapRequest(request), data) } : action
  }
  const extendRequest = definition.extendRequest
  return {
    ...definition,
    actions,
    extendRequest: (data: unknown) => {
      const base = (extendRequest?.(data) ?? {}) as Record<string, unknown>
      return {
        ...base,
        timeout: options.timeoutMs(),
        beforeRequest: [...((base.beforeRequest as AnyFn[]) ?? []), beforeRequest],
        afterResponse: [...((base.afterResponse as AnyFn[]) ?? []), afterResponse]
      }
    }
  } as D
}
