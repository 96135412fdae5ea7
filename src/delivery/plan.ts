/**
 * What delivery does with one event, decided before anything is sent: route it (consent,
 * integrations, filters), fill its account from the identity map, and match it against the
 * subscriptions. Delivery and the event tester (dry-run.ts) both plan through `planEvent`, so
 * the tester shows what delivery would do, reasons included.
 *
 * Planning writes nothing. Its one read, the identity map, goes through the `accountsFor` it is
 * given; the links the event teaches are returned for the caller to write (delivery does, the
 * event tester does not).
 */
import type { IdentityLink, SegmentEvent } from '../store/types'
import { fillAccount, linksFrom, type IdentityStore } from './identity'
import { junkIdProblem } from './junk-ids'
import { matching, type ActiveSubscription } from './subscriptions'

export type RouteFn = (event: SegmentEvent) => { deliver: true; event: SegmentEvent } | { deliver: false; reason: string }

export interface PlanInputs {
  route?: RouteFn
  subscriptions: ActiveSubscription[]
  /** The identity map, read-only; absent for destinations other than CSB (its account fill is CSB's alone). */
  accounts?: Pick<IdentityStore, 'accountsFor'>
  /** Subscriptions an earlier attempt already delivered (samples.ts): matched, not run again. */
  done?: string[]
}

export type Plan =
  /** Run `run` (the matched subscriptions not yet delivered, in configured order) on `event`. */
  | { kind: 'run'; event: SegmentEvent; matched: ActiveSubscription[]; run: ActiveSubscription[]; done: string[]; links: IdentityLink[]; filledAccount: string | null }
  /** Nothing to send, visibly: routing dropped it or no subscription takes it. */
  | { kind: 'skip'; reason: string; links: IdentityLink[]; filledAccount: string | null }
  /**
   * Routing or matching threw, or an id the subscriptions need was junk (junk-ids.ts). Each is a
   * pure function of the event, so every attempt would fail again: the event is dead-lettered at
   * once instead of coming back forever.
   */
  | { kind: 'reject'; reason: string; links: IdentityLink[] }

/**
 * Plans one event. Throws only when the identity map cannot be read (the relay's own failure,
 * not the event's). The links are learned from the routed event, before its account is filled:
 * an event that teaches a link names its account, so it never needs one filled.
 */
export async function planEvent(event: SegmentEvent, inputs: PlanInputs): Promise<Plan> {
  let routed = event
  if (inputs.route) {
    let result: ReturnType<RouteFn>
    try {
      result = inputs.route(event)
    } catch (err) {
      return { kind: 'reject', reason: `routing failed: ${(err as Error).message}`, links: [] }
    }
    if (!result.deliver) return { kind: 'skip', reason: result.reason, links: [], filledAccount: null }
    routed = result.event
  }
  const links = inputs.accounts ? linksFrom(routed) : []
  const filled = inputs.accounts ? await fillAccount(routed, inputs.accounts) : { event: routed, filledAccount: null }

  let matched: ActiveSubscription[]
  try {
    matched = matching(inputs.subscriptions, filled.event)
  } catch (err) {
    return { kind: 'reject', reason: `subscription matching failed: ${(err as Error).message}`, links }
  }
  if (matched.length === 0) {
    const e = filled.event
    const what = e.type === 'track' && typeof e.event === 'string' ? `track "${e.event}"` : e.type
    return { kind: 'skip', reason: `no subscription matches ${what}`, links, filledAccount: filled.filledAccount }
  }
  const done = inputs.done ?? []
  const run = matched.filter((s) => !done.includes(s.name))
  // An id ingest found to be junk leaves the event without it, on every attempt alike.
  const junk = junkIdProblem(filled.event, run)
  if (junk) return { kind: 'reject', reason: junk, links }
  return { kind: 'run', event: filled.event, matched, run, done, links, filledAccount: filled.filledAccount }
}
