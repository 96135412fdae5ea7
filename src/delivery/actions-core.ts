/**
 * The relay's one seam on @segment/actions-core: the only file of the relay that relies on how
 * actions-core works inside (two protected methods, its request client's options and hooks, the
 * shape of its batch results, what its runtime keeps, the FQL engine it matches with). Every such
 * assumption is stated, and checked against the installed version, in actions-core.test.ts and
 * (`executeBatch`) actions-core.batch.test.ts: after an upgrade, a broken assumption fails there by
 * name. Public, documented exports (types, error classes) may be used elsewhere.
 *
 * What delivery gets from here:
 * - `instrumentDefinition` and `RelayDestination`: run one action for one event, or its
 *   `performBatch` for several, with `RequestHooks` that see each request and its answer;
 * - `deletionOf`: a definition's `onDelete` (user deletions, docs/privacy.md);
 * - `checkMapping`: whether a subscription's mapping directives are valid;
 * - `parseFql` / `matchesFql`: the FQL engine actions-core matches subscriptions with;
 * - `NO_ANSWER_ERROR_NAMES` / `NO_ANSWER_ERROR_CODES` / `RETRYABLE_ERROR_CODE`: how its errors
 *   say a request got no answer, or should be retried.
 */
import { Destination, ErrorCodes, getAuthData, transform } from '@segment/actions-core'
import { parseFql, validate } from '@segment/destination-subscriptions'
import { contentTypeOf, RequestOptionsCache } from './request-options'
import type { RequestHooks } from './request-hooks'

export type { Answer, OutgoingRequest, RequestHooks } from './request-hooks'

type AnyFn = (...args: any[]) => any
type RequestFn = (url: string, options?: Record<string, unknown>) => Promise<unknown>

/** The settings key under which a run's hooks reach `extendRequest` and `perform` (a symbol: JSON and schema validation ignore it). */
const HOOKS = Symbol('csb-relay-request-hooks')
/** The request-option key that carries a run's hooks to the client's own hooks (a function: option merging copies objects, not functions). */
const CARRIER = 'csbRelayHooks'
/** Marks a definition built by `instrumentDefinition`. */
const INSTRUMENTED = Symbol('csb-relay-instrumented')

function hooksOf(settings: unknown): RequestHooks | undefined {
  return (settings as { [HOOKS]?: RequestHooks } | undefined)?.[HOOKS]
}

function hooksFromOptions(options: unknown): RequestHooks | undefined {
  const carry = (options as Record<string, unknown> | undefined)?.[CARRIER]
  return typeof carry === 'function' ? (carry as () => RequestHooks)() : undefined
}

/** The action's request client with the run's hooks: asked before each request, carried in its options. */
function hooked(request: RequestFn, hooks: RequestHooks | undefined): RequestFn {
  if (!hooks) return request
  const carry = () => hooks
  const send: RequestFn = (url, options = {}) => request(url, { ...options, [CARRIER]: carry })
  const ask = hooks.request?.bind(hooks)
  if (!ask) return send
  return (url, options = {}) => {
    const method = String(options.method ?? 'GET').toUpperCase()
    const wait = ask({ method, url, headers: options.headers, json: options.json, body: options.body })
    return wait ? wait.then(() => send(url, options)) : send(url, options)
  }
}

const beforeRequest = (options: Record<string, unknown>) => {
  hooksFromOptions(options)?.sending?.({ headers: options.headers, basicAuth: Boolean(options.username || options.password) })
}

const afterResponse = (request: { url: string; headers: unknown }, options: unknown, response: Record<string, any>) => {
  hooksFromOptions(options)?.answered?.({
    url: request.url,
    requestHeaders: request.headers,
    status: Number(response.status),
    headers: response.headers,
    body: response.data !== undefined ? response.data : response.content
  })
}

const BEFORE_REQUEST: readonly AnyFn[] = Object.freeze([beforeRequest])
const AFTER_RESPONSE: readonly AnyFn[] = Object.freeze([afterResponse])

export interface InstrumentOptions {
  /** The request timeout, read on every run (settings may change at runtime). */
  timeoutMs: () => number
}

/**
 * A copy of the definition whose action runs call the `RequestHooks` passed to `runAction`: each
 * action's `perform` gets a request client that asks `request` first, and `extendRequest` adds
 * the client hooks that call `sending` and `answered`, and the request timeout.
 */
export function instrumentDefinition<D extends { actions: Record<string, any>; extendRequest?: AnyFn }>(definition: D, options: InstrumentOptions): D {
  const withHooks = (fn: AnyFn | undefined) => fn && ((request: RequestFn, data: { settings?: unknown }) => fn(hooked(request, hooksOf(data?.settings)), data))
  const actions: Record<string, unknown> = {}
  for (const [slug, action] of Object.entries(definition.actions)) {
    const perform = withHooks(action.perform)
    const performBatch = withHooks(action.performBatch)
    actions[slug] = perform || performBatch ? { ...action, ...(perform ? { perform } : {}), ...(performBatch ? { performBatch } : {}) } : action
  }
  const extendRequest = definition.extendRequest
  // One options object while the destination's options and the timeout stay the same: runs that
  // get it share a request client (shareRequestClient). Handing one object to every run is safe
  // because actions-core only reads it (its option merging builds new objects; contract test).
  const built = new RequestOptionsCache()
  const instrumented = {
    ...definition,
    actions,
    extendRequest: (data: { settings?: unknown }) => {
      const base = (extendRequest?.(data) ?? {}) as Record<string, unknown>
      const timeout = options.timeoutMs()
      return built.get(base, timeout, () => ({
        ...base,
        timeout,
        // Read the answer's body itself, not a clone of the response: with a clone, an answer
        // larger than the clone's buffers (about 64 KB) is never read to its end, and the request
        // timeout does not cover the body (docs/delivery.md, "Tricks").
        skipResponseCloning: true,
        beforeRequest: base.beforeRequest ? [...(base.beforeRequest as AnyFn[]), beforeRequest] : BEFORE_REQUEST,
        afterResponse: base.afterResponse ? [...(base.afterResponse as AnyFn[]), afterResponse] : AFTER_RESPONSE
      }))
    }
  }
  Object.defineProperty(instrumented, INSTRUMENTED, { value: true })
  return instrumented as unknown as D
}

/** What `onEvent` passes as auth for settings without OAuth. */
const NO_AUTH = Object.freeze(getAuthData({} as never))
const NO_METADATA = Object.freeze({ actionConfigId: undefined, destinationConfigId: undefined, actionId: undefined, sourceId: undefined })
/** Error names `onEvent` marks as a 400 (the event does not fit the action's fields). */
const VALIDATION_ERRORS = new Set(['AggregateAjvError', 'ValidationError'])

type ClientFactory = (this: unknown, data: { signal?: unknown }) => unknown

/**
 * Makes an action hand its runs one request client while `extendRequest` gives them the same
 * options object (the instrumented one does while the destination's options and the timeout stay
 * the same). actions-core builds a client per run, merging its defaults, those options and the
 * run's hooks (headers and all) in three rounds, though the client holds only defaults: each
 * request merges its own options and runs the hooks anew, and a run's RequestHooks travel in its
 * requests' options. A run with an abort signal gets its own.
 */
function shareRequestClient(action: { createRequestClient?: ClientFactory; extendRequest?: (data: unknown) => unknown }): void {
  const build = action.createRequestClient
  if (typeof build !== 'function') return
  let shared: { options: unknown; client: unknown } | undefined
  action.createRequestClient = function (this: unknown, data) {
    if (data?.signal !== undefined) return build.call(this, data)
    const options = action.extendRequest?.(data)
    if (shared && options !== undefined && shared.options === options) return shared.client
    const client = jsonBodies(build.call(this, data) as RequestFn, options)
    shared = { options, client }
    return client
  }
}

/**
 * The client, sending a `json` request as the body actions-core would make of it
 * (JSON.stringify) when the client's options already say Content-Type: application/json and add
 * no hooks of the destination's own (which could tell the difference) and the request names no
 * content type: the same bytes and headers, without the second node-fetch Request actions-core
 * builds to add them.
 */
function jsonBodies(client: RequestFn, options: unknown): RequestFn {
  const o = (options ?? {}) as Record<string, unknown>
  if (o.beforeRequest !== BEFORE_REQUEST || o.afterResponse !== AFTER_RESPONSE || contentTypeOf(o.headers) !== 'application/json') return client
  return (url, request = {}) =>
    request.json === undefined || request.body !== undefined || request.searchParams !== undefined || contentTypeOf(request.headers) !== undefined
      ? client(url, request)
      : client(url, { ...request, json: undefined, body: JSON.stringify(request.json) })
}

/** actions-core's Destination, opened up to run one action (`executeAction` is protected), its actions sharing request clients. */
class Runtime<Settings> extends Destination<Settings> {
  constructor(definition: ConstructorParameters<typeof Destination<Settings>>[0]) {
    super(definition)
    for (const action of Object.values(this.actions)) shareRequestClient(action as never)
  }

  runBatch(partnerAction: string, events: Record<string, unknown>[], mapping: Record<string, unknown>, settings: Settings): Promise<unknown[]> {
    return this.executeBatch(partnerAction, { events: events as never, mapping: mapping as never, ...runContext(settings) }) as Promise<unknown[]>
  }

  run(partnerAction: string, event: Record<string, unknown>, mapping: Record<string, unknown>, settings: Settings): Promise<unknown> {
    return this.executeAction(partnerAction, { event: event as never, mapping: mapping as never, ...runContext(settings) })
  }
}

/** What a run passes besides the event(s) and the mapping, as `onEvent` would for settings without OAuth. */
function runContext<Settings>(settings: Settings) {
  return { settings, auth: NO_AUTH as never, features: {}, statsContext: {} as never, subscriptionMetadata: NO_METADATA }
}

/**
 * The destination as the relay runs it. The relay has matched the subscriptions itself (FQL parsed
 * once, at start) and validated the CSB settings when they were set, so it runs the matched action
 * directly rather than through `onEvent`, which would validate the settings and parse and match
 * the FQL again on every event (docs/delivery.md, "Tricks"). What `onEvent` adds for a destination
 * without OAuth, like CSB, is kept: payload validation errors get status 400.
 */
export class RelayDestination<Settings = any> {
  private readonly runtime: Runtime<Settings>

  /** `definition`: from `instrumentDefinition` (else the hooks would never be called). */
  constructor(definition: ConstructorParameters<typeof Destination<Settings>>[0]) {
    if (!(definition as { [INSTRUMENTED]?: boolean })[INSTRUMENTED]) {
      throw new TypeError('RelayDestination needs a definition from instrumentDefinition(definition, { timeoutMs })')
    }
    this.runtime = new Runtime(definition)
  }

  /** Throws (status 400) when the settings do not fit the destination's settings schema. */
  validateSettings(settings: Settings): void {
    this.runtime.validateSettings(settings)
  }

  /**
   * Runs one action's `performBatch` for several events (actions-core's `executeBatch`, what
   * `onBatch` runs per subscription): one entry per event, in order, in actions-core's multistatus
   * shape (`status`, and `errormessage` / `errortype` when it failed). Throws when the whole batch
   * failed (no answer, or an HTTP error the action did not catch). Assumptions:
   * actions-core.batch.test.ts.
   */
  async runBatch(partnerAction: string, events: Record<string, unknown>[], mapping: Record<string, unknown>, settings: Settings, hooks?: RequestHooks): Promise<BatchItemStatus[]> {
    try {
      const statuses = await this.runtime.runBatch(partnerAction, events, mapping, hooks ? { ...settings, [HOOKS]: hooks } : settings)
      return events.map((_, i) => batchItemStatus(statuses[i]))
    } finally {
      ;(this.runtime.responses as unknown[]).length = 0
    }
  }

  /** Runs one action for one event: mapping, payload validation, `perform`, with `hooks` around each request. */
  async runAction(partnerAction: string, event: Record<string, unknown>, mapping: Record<string, unknown>, settings: Settings, hooks?: RequestHooks): Promise<unknown> {
    try {
      return await this.runtime.run(partnerAction, event, mapping, hooks ? { ...settings, [HOOKS]: hooks } : settings)
    } catch (error) {
      const e = error as { name?: string; status?: number } | null
      if (e && typeof e === 'object' && VALIDATION_ERRORS.has(e.name ?? '')) e.status = 400
      throw error
    } finally {
      // actions-core keeps every response on the Destination; a long-running relay must not.
      ;(this.runtime.responses as unknown[]).length = 0
    }
  }
}

/** The definition's `onDelete` as actions-core runs it (`Destination.onDelete`, the relay's timeout), or null without
 *  one. A rejection carries the HTTP status as `status` (actions-core's HTTPError keeps it in `response.status`). */
export function deletionOf(definition: Parameters<typeof instrumentDefinition>[0], options: InstrumentOptions): ((event: Record<string, unknown>, settings: Record<string, unknown>) => Promise<void>) | null {
  if (typeof (definition as { onDelete?: unknown }).onDelete !== 'function') return null
  const destination = new Destination(instrumentDefinition(definition, options) as never)
  return (event, settings) => destination.onDelete!(event as never, settings as never).then(() => undefined, (error) => {
    throw typeof error?.response?.status === 'number' && error.status === undefined ? Object.assign(error, { status: error.response.status }) : error
  })
}

/** Throws when a mapping's directives are invalid (actions-core's mapping-kit, on an empty event). */
export function checkMapping(mapping: Record<string, unknown>): void {
  transform(mapping as Parameters<typeof transform>[0], {})
}

/** The FQL engine actions-core matches subscriptions with: a condition means the same to the relay. */
export { parseFql }
export const matchesFql: typeof validate = validate
export type ParsedFql = ReturnType<typeof parseFql>

/** Error names of actions-core's request client (and the fetch under it) for a request that got no answer. */
export const NO_ANSWER_ERROR_NAMES: ReadonlySet<string> = new Set(['TimeoutError', 'RequestTimeoutError', 'RequestClientError', 'AbortError', 'FetchError'])
/** Error codes of actions-core's request client for a request that got no answer. */
export const NO_ANSWER_ERROR_CODES: ReadonlySet<string> = new Set(['REQUESTTIMEOUTERROR', 'REQUESTCLIENTERROR'])
/** The code actions-core's RetryableError carries. */
export const RETRYABLE_ERROR_CODE: string = ErrorCodes.RETRYABLE_ERROR

/** One event's outcome in a batch, from actions-core's multistatus. */
export interface BatchItemStatus {
  status: number
  /** Why it failed (non-2xx only). */
  message?: string
}

function batchItemStatus(raw: unknown): BatchItemStatus {
  const item = (raw ?? {}) as { status?: unknown; errormessage?: unknown; errortype?: unknown }
  // An event the action returned nothing for is not known to be delivered: retried.
  const status = typeof item.status === 'number' ? item.status : 500
  if (status >= 200 && status < 300) return { status }
  const message = typeof item.errormessage === 'string' ? item.errormessage : typeof item.errortype === 'string' ? item.errortype : `status ${status}`
  return { status, message }
}
