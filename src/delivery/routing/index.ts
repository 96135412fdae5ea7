/**
 * Routing: decides, before the destination runs, whether an event goes to CustomerSuccessBox
 * and in what shape. First the end user's consent (consent.ts), then the event's own integrations
 * object, then the destination filters of the config file, in their order. Everything is compiled by `createRouter` at start;
 * `route` is on the delivery hot path and only evaluates.
 */
import type { SegmentEvent } from '../../store/types'
import { compileFilters, RoutingConfigError, Skip, type CompiledFilter } from './filters'
import { compileIntegrationsCheck, DEFAULT_INTEGRATION_NAMES } from './integrations'
import { compileConsentCheck, CONSENT_SKIP_REASON, type ConsentMap } from './consent'

export { RoutingConfigError, DEFAULT_INTEGRATION_NAMES, CONSENT_SKIP_REASON, type ConsentMap }

/**
 * The skip reason of a `delete` event in the queue: a user deletion request Segment's Webhooks
 * destinations forward. Ingest turns such requests into regulations and never stores them, so
 * only one an earlier version of the relay stored reaches delivery; it is kept, visible, with
 * this reason, which says how to run the deletion it asked for.
 */
export const USER_DELETION_SKIP_REASON =
  'user deletion request (type "delete") stored by an earlier version of the relay: not delivered, and nothing was deleted; ' +
  'deletion requests run as regulations: run `csb-relay regulate --type DELETE_ONLY USER_ID` for its userId'

export type RouteResult =
  /** `event` is the input itself when no filter changed it, else a copy; the input is never mutated. */
  | { deliver: true; event: SegmentEvent }
  /** A skip, not an error: record it with `store.skip` and this reason. */
  | { deliver: false; reason: string }

export interface Router {
  route(event: SegmentEvent): RouteResult
  /** One line per filter in force, for the start-up log. */
  readonly summary: readonly string[]
}

export interface RouterOptions {
  /** Names under which the integrations object may name this destination (case-sensitive). */
  integrationNames?: readonly string[]
  /** Config `consent`: the categories each destination needs; this router reads its own entry. */
  consent?: ConsentMap
  /** The destination's name as `consent` keys it; default: the first integration name. */
  destinationName?: string
}

/**
 * Compiles the filters (RelayConfig.filters) and the integrations check.
 * Throws RoutingConfigError naming the rule and the fix when a rule is invalid.
 */
export function createRouter(filters: unknown[] | undefined, options: RouterOptions = {}): Router {
  const names = options.integrationNames?.length ? options.integrationNames : DEFAULT_INTEGRATION_NAMES
  const checkIntegrations = compileIntegrationsCheck(names)
  const consentBlocks = compileConsentCheck(options.consent, options.destinationName ?? names[0] ?? 'CustomerSuccessBox')
  const compiled: CompiledFilter[] = compileFilters(filters)
  const steps = compiled.map((f) => f.apply)

  return {
    summary: compiled.map((f) => f.summary),
    route(event) {
      if (event.type === 'delete') return { deliver: false, reason: USER_DELETION_SKIP_REASON }
      if (consentBlocks(event.context)) return { deliver: false, reason: CONSENT_SKIP_REASON }
      const off = checkIntegrations(event.integrations)
      if (off) return { deliver: false, reason: off }
      let current: Record<string, unknown> = event
      for (let i = 0; i < steps.length; i++) {
        const next = steps[i](current)
        if (next instanceof Skip) return { deliver: false, reason: next.reason }
        current = next
      }
      return { deliver: true, event: current as SegmentEvent }
    }
  }
}
