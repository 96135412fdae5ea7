/**
 * One delivery attempt of one event: run each matching subscription's action through
 * actions-core (`Destination.onEvent` with that one subscription), in configured order.
 *
 * Outcome rule for several matching subscriptions: they run one after another; the first
 * failure ends the attempt and decides its outcome (retry or dead letter). Subscriptions that
 * already succeeded are remembered in the samples and are not sent again on the retry.
 */
import type { Destination } from '@segment/actions-core'
import { DryRunStop, withCapture, type Exchange } from './capture'
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

/** actions-core's subscription list for one subscription, built once per subscription (read-only to actions-core). */
const asActions = new WeakMap<ActiveSubscription, unknown[]>()
function actionsSubscriptions(sub: ActiveSubscription): unknown[] {
  let list = asActions.get(sub)
  if (!list) asActions.set(sub, (list = [toActionsSubscription(sub)]))
  return list
}

export function toActionsSubscription(sub: ActiveSubscription) {
  return { name: sub.name, subscribe: sub.subscribe, partnerAction: sub.partnerAction, mapping: sub.mapping as never }
}

export async function runSubscriptions(
  destination: Destination<any>,
  event: Record<string, unknown>,
  settings: CsbSettings,
  subscriptions: ActiveSubscription[],
  { dryRun = false }: { dryRun?: boolean } = {}
): Promise<AttemptResult> {
  const results: SubscriptionResult[] = []
  for (const sub of subscriptions) {
    const result: SubscriptionResult = { subscription: sub.name, action: sub.partnerAction, exchanges: [] }
    results.push(result)
    try {
      // One settings object per run: the CSB settings, this subscription, and where to put the exchanges.
      const runSettings = withCapture(settings, { exchanges: result.exchanges, dryRun }, actionsSubscriptions(sub))
      await destination.onEvent(event as never, runSettings as never)
    } catch (error) {
      if (!(dryRun && (error instanceof DryRunStop || result.exchanges.length > 0))) {
        result.error = error
        return { results, failed: result }
      }
    } finally {
      // actions-core keeps every response on the Destination instance; a long-running relay must not.
      ;(destination.responses as unknown[]).length = 0
    }
  }
  return { results, failed: null }
}
