/**
 * The dashboard's event tester: what delivery would do with an event, without sending it
 * (or sending it, with `send`, without storing anything). It plans the event as delivery does
 * (plan.ts: routing, the account fill, subscription matching; the links it teaches are not
 * learned), then shows the mapping and the exact CSB request of each matched subscription.
 */
import type { SegmentEvent } from '../store/types'
import { runSubscriptions, type RelayDestination } from './attempt'
import type { RequestGuard } from './names'
import type { CapturedRequest, CapturedResponse } from './capture'
import { describeFailure } from './classify'
import type { IdentityStore } from './identity'
import { planEvent, type RouteFn } from './plan'
import type { ActiveSubscription } from './subscriptions'
import type { CsbSettings } from './types'
import { explainActionError, scrubText } from '../destination'

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
  /** False when routing drops the event, no subscription matches it, or it would be dead-lettered unsent. */
  deliver: boolean
  /** Why nothing would be sent (the reason delivery would record). */
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
    /** The identity map, read-only: the tester learns nothing. */
    store: Pick<IdentityStore, 'accountsFor'>
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
  const plan = await planEvent(event, { route: runtime.route, subscriptions: runtime.subscriptions, accounts: options.store })
  if (plan.kind === 'reject') return { ...base, deliver: false, skipReason: plan.reason }
  if (plan.kind === 'skip') return { ...base, filledAccount: plan.filledAccount, deliver: false, skipReason: plan.reason }

  const send = options.send && csbConfigured
  const settings = options.csb ?? PLACEHOLDER
  const matches: DryRunMatch[] = []
  for (const sub of plan.run) {
    const attempt = await runSubscriptions(runtime.destination, plan.event, settings, [sub], { dryRun: !send, guard: options.guard, explain: explainActionError })
    const result = attempt.results[0]
    const exchange = result.exchanges[result.exchanges.length - 1]
    const match: DryRunMatch = { subscription: sub.name, partnerAction: sub.partnerAction, request: exchange?.request ?? null }
    if (send) match.response = exchange?.response ?? null
    if (attempt.failed) {
      const facts = describeFailure(attempt.failed.error, exchange?.response?.status ?? null)
      match.error = scrubText(facts.reason, [options.csb?.apiKey])
      match.retryable = facts.retryable
    }
    matches.push(match)
  }
  return { deliver: true, filledAccount: plan.filledAccount, csbConfigured, sent: send, matches }
}
