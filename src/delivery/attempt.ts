/**
 * One delivery attempt of one event: run each matching subscription's action through
 * actions-core (`RelayDestination`, actions-core.ts), in configured order, capturing each
 * request and its answer (capture.ts).
 *
 * Outcome rule for several matching subscriptions: they run one after another; the first
 * failure ends the attempt and decides its outcome (retry or dead letter). Subscriptions that
 * already succeeded are remembered in the samples and are not sent again on the retry.
 */
import type { RelayDestination } from './actions-core'
import { captureHooks, DryRunStop, finishExchanges, type CaptureContext, type Exchange } from './capture'
import type { Batcher } from './batcher'
import type { RequestGuard } from './names'
import type { ActiveSubscription } from './subscriptions'
import type { DestinationSettings } from './types'

export type { RelayDestination } from './actions-core'

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

export interface RunOptions {
  /** Stop each request before it is sent (the event tester). */
  dryRun?: boolean
  guard?: RequestGuard
  /** The destination's own account of a failed run (CSB's: where a missing id was looked for). */
  explain?: (error: unknown, action: string, mapping: Record<string, unknown>) => unknown
  /** Gathers events of batching subscriptions into `performBatch` calls (batcher.ts). */
  batcher?: Batcher
}

export async function runSubscriptions(
  destination: RelayDestination,
  event: Record<string, unknown>,
  settings: DestinationSettings,
  subscriptions: ActiveSubscription[],
  { dryRun = false, guard, explain, batcher }: RunOptions = {}
): Promise<AttemptResult> {
  const results: SubscriptionResult[] = []
  for (const sub of subscriptions) {
    if (batcher && !dryRun && batcher.batched(sub)) {
      const result = await batcher.run(sub, event, settings)
      results.push(result)
      if (result.error !== undefined) return { results, failed: result }
      continue
    }
    const result: SubscriptionResult = { subscription: sub.name, action: sub.partnerAction, exchanges: [] }
    results.push(result)
    const capture: CaptureContext = { exchanges: result.exchanges, dryRun, guard }
    try {
      await destination.runAction(sub.partnerAction, event, sub.mapping, settings, captureHooks(capture))
    } catch (error) {
      if (!(dryRun && (error instanceof DryRunStop || result.exchanges.length > 0))) {
        // A request the relay's guard refused: its reason, not the network failure the destination made of it.
        result.error = capture.refused ?? (explain ? explain(error, sub.partnerAction, sub.mapping) : error)
        return { results, failed: result }
      }
    } finally {
      finishExchanges(result.exchanges)
    }
  }
  return { results, failed: null }
}
