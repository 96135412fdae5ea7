/**
 * One delivery attempt of one event: run each matching subscription's action through
 * actions-core, in configured order.
 *
 * The relay has matched the subscriptions itself (FQL parsed once, at start) and validated the CSB
 * settings when they were set, so it runs the action directly (`RelayDestination.runAction`)
 * rather than through `onEvent`, which would validate the settings and parse and match the FQL
 * again on every event (measured on 29 November: 17 to 27 µs more main-thread CPU per event, half of
 * it the FQL parse; docs/delivery.md, Benchmark). What `onEvent` adds for a non-OAuth destination
 * like CSB is kept: schema validation errors get status 400.
 *
 * Outcome rule for several matching subscriptions: they run one after another; the first
 * failure ends the attempt and decides its outcome (retry or dead letter). Subscriptions that
 * already succeeded are remembered in the samples and are not sent again on the retry.
 */
import { Destination } from '@segment/actions-core'
import { explainActionError } from '../destination'
import { DryRunStop, finishExchanges, withCapture, type CaptureContext, type Exchange } from './capture'
import type { RequestGuard } from './names'
import type { ActiveSubscription } from './subscriptions'
import type { CsbSettings } from './types'

export interface SubscriptionResult {
  subscription: string
  action: string
  exchanges: Exchange[]
  /** The thrown error, when it failed. */
  error?: unknown
}

export interface AttemptResult {
  /** Subscriptions run in this attempt, in order; only the last may have failed. */
  results: SubscriptionResult[]
  failed: SubscriptionResult | null
}

/** What `onEvent` passes for a destination without OAuth settings (see actions-core's getAuthData). */
const NO_AUTH = Object.freeze({ accessToken: undefined, refreshToken: undefined, refreshTokenUrl: undefined })
const NO_METADATA = Object.freeze({ actionConfigId: undefined, destinationConfigId: undefined, actionId: undefined, sourceId: undefined })
/** Error names `onEvent` marks as a 400 (the event does not fit the action's fields). */
const VALIDATION_ERRORS = new Set(['AggregateAjvError', 'ValidationError'])

/** What actions-core's Action builds a request client with, per run (`Action.createRequestClient`). */
type ClientFactory = (this: unknown, data: { settings?: unknown; signal?: unknown }) => unknown

interface SharedClient {
  /** The `extendRequest` result it was last found for (compared by identity first). */
  extended: Record<string, unknown>
  /** The `extendRequest` result it was built from, as JSON (headers, timeout). */
  options: string
  beforeRequest: unknown
  afterResponse: unknown
  client: unknown
}

/**
 * Makes an action reuse its request client across runs with the same options. actions-core builds
 * one per run (`createRequestClient(extendRequest(data), { afterResponse, statsContext, signal })`:
 * three rounds of option and header merging before the first request); the client it returns is
 * a function that makes a new request (options merged, hooks run) on each call, so sharing it
 * changes nothing a request sees. The client depends only on `extendRequest`'s result (the
 * capture context goes with each request, capture.ts), so runs share it when that result is the
 * same (compared as JSON, hook lists by identity) and they pass no abort signal; this holds in a
 * worker thread too, where each task's settings arrive as a new object. Otherwise actions-core
 * builds one as before, and it becomes the one shared.
 */
function shareRequestClients(action: { createRequestClient?: ClientFactory; extendRequest?: (data: unknown) => unknown }): void {
  const build = action.createRequestClient
  if (typeof build !== 'function') return
  let shared: SharedClient | undefined
  action.createRequestClient = function (this: unknown, data) {
    if (data?.signal !== undefined) return build.call(this, data)
    const extended = (action.extendRequest?.(data) ?? {}) as Record<string, unknown>
    const known = shared
    // The relay's instrumented extendRequest returns the same object while its options stay the same.
    if (known && known.extended === extended) return known.client
    const options = JSON.stringify(extended)
    if (known && known.options === options && known.beforeRequest === extended.beforeRequest && known.afterResponse === extended.afterResponse) {
      known.extended = extended
      return known.client
    }
    const client = build.call(this, data)
    shared = { extended, options, beforeRequest: extended.beforeRequest, afterResponse: extended.afterResponse, client }
    return client
  }
}

/** A Destination that can run one action for one event (actions-core's `executeAction`, protected). */
export class RelayDestination<Settings = any> extends Destination<Settings> {
  constructor(definition: ConstructorParameters<typeof Destination<Settings>>[0]) {
    super(definition)
    for (const action of Object.values(this.actions)) shareRequestClients(action as never)
  }

  async runAction(partnerAction: string, event: Record<string, unknown>, mapping: Record<string, unknown>, settings: Settings): Promise<unknown> {
    try {
      return await this.executeAction(partnerAction, {
        event: event as never,
        mapping: mapping as never,
        settings,
        auth: NO_AUTH as never,
        features: {},
        statsContext: {} as never,
        subscriptionMetadata: NO_METADATA
      })
    } catch (error) {
      const e = error as { name?: string; status?: number } | null
      if (e && typeof e === 'object' && VALIDATION_ERRORS.has(e.name ?? '')) e.status = 400
      // A missing required id: say where the mapping looked, not only actions-core's field name.
      throw explainActionError(error, partnerAction, mapping)
    }
  }
}

export async function runSubscriptions(
  destination: RelayDestination,
  event: Record<string, unknown>,
  settings: CsbSettings,
  subscriptions: ActiveSubscription[],
  { dryRun = false, guard }: { dryRun?: boolean; guard?: RequestGuard } = {}
): Promise<AttemptResult> {
  const results: SubscriptionResult[] = []
  for (const sub of subscriptions) {
    const result: SubscriptionResult = { subscription: sub.name, action: sub.partnerAction, exchanges: [] }
    results.push(result)
    const capture: CaptureContext = { exchanges: result.exchanges, dryRun, guard }
    try {
      // The CSB settings with where to put this run's exchanges.
      await destination.runAction(sub.partnerAction, event, sub.mapping, withCapture(settings, capture))
    } catch (error) {
      if (!(dryRun && (error instanceof DryRunStop || result.exchanges.length > 0))) {
        // A request the relay's guard refused: its reason, not the network failure the destination made of it.
        result.error = capture.refused ?? error
        return { results, failed: result }
      }
    } finally {
      finishExchanges(result.exchanges)
      // actions-core keeps every response on the Destination instance; a long-running relay must not.
      ;(destination.responses as unknown[]).length = 0
    }
  }
  return { results, failed: null }
}
