/**
 * The dashboard's event tester: what delivery would do with an event, without sending it
 * (or sending it, with `send`, without storing anything). Routing, the account fill (read-only:
 * nothing is learned), subscription matching, the mapping and the exact CSB request.
 */
import type { SegmentEvent } from '../store/types'
import { runSubscriptions, type RelayDestination } from './attempt'
import type { RequestGuard } from './names'
import type { CapturedRequest, CapturedResponse } from './capture'
import { describeFailure, scrub } from './classify'
import { enrich, type IdentityStore } from './identity'
import { matching, type ActiveSubscription } from './subscriptions'
import type { CsbSettings } from './types'
import type { RouteFn } from './pipeline'

export interface DryRunMatch {
  subscription: string
  partnerAction: string
  /** The request CSB would get (or got): Authorization redacted. */
  request: CapturedRequest | null
  /** CSB's answer, when sent. */
  response?: CapturedResponse | null
  /** Why the action failed (mapping, missing id, or CSB's error when sent). */
  error?: string
  /** Whether that failure would be retried. */
  retryable?: boolean
}

export interface DryRunResult {
  /** False when the event was dropped by routing or matched no subscription. */
  deliver: boolean
  /** Why nothing would be sent. */
  skipReason?: string
  /** The account filled in from the identity map, when one was. */
  filledAccount: string | null
  csbConfigured: boolean
  sent: boolean
  matches: DryRunMatch[]
}

const PLACEHOLDER: CsbSettings = { apiKey: 'not-configured', baseUrl: 'https://tenant.customersuccessbox.com' }

export async function dryRun(
  input: Record<string, unknown>,
  options: {
    runtime: { destination: RelayDestination; subscriptions: ActiveSubscription[]; route: RouteFn }
    store: IdentityStore
    csb: CsbSettings | undefined
    send: boolean
    /** Checks requests that are really sent (names.ts), as delivery does. */
    guard?: RequestGuard
  }
): Promise<DryRunResult> {
  const { runtime } = options
  const csbConfigured = options.csb !== undefined
  const base = { filledAccount: null, csbConfigured, sent: false, matches: [] }
  if (!input || typeof input !== 'object' || typeof input.type !== 'string') {
    return { ...base, deliver: false, skipReason: 'not a Segment event: "type" is missing' }
  }
  const event = { messageId: 'dry-run', timestamp: new Date().toISOString(), ...input } as unknown as SegmentEvent
  const routed = runtime.route(event)
  if (!routed.deliver) return { ...base, deliver: false, skipReason: routed.reason }
  const enriched = await enrich(routed.event, options.store, false)
  const matched = matching(runtime.subscriptions, enriched.event)
  if (matched.length === 0) return { ...base, filledAccount: enriched.filledAccount, deliver: false, skipReason: `no subscription matches ${event.type}` }

  const send = options.send && csbConfigured
  const settings = options.csb ?? PLACEHOLDER
  const matches: DryRunMatch[] = []
  for (const sub of matched) {
    const attempt = await runSubscriptions(runtime.destination, enriched.event, settings, [sub], { dryRun: !send, guard: options.guard })
    const result = attempt.results[0]
    const exchange = result.exchanges[result.exchanges.length - 1]
    const match: DryRunMatch = { subscription: sub.name, partnerAction: sub.partnerAction, request: exchange?.request ?? null }
    if (send) match.response = exchange?.response ?? null
    if (attempt.failed) {
      const facts = describeFailure(attempt.failed.error, exchange?.response?.status ?? null)
      match.error = scrub(facts.reason, [options.csb?.apiKey])
      match.retryable = facts.retryable
    }
    matches.push(match)
  }
  return { deliver: true, filledAccount: enriched.filledAccount, csbConfigured, sent: send, matches }
}
