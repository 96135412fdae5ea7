/**
 * Delivering one leased event: plan it (plan.ts), write the identity links it teaches, run the
 * planned subscriptions through the executor, classify the answer, and record the outcome
 * (delivered, retrying, dead or skipped) through the outcome writer. When to start an event, and
 * how many at once, is the scheduler's business (pipeline.ts); this module gets a slot to free.
 */
import { scrubText } from '../destination'
import type { IdentityLink, LeasedEvent, Store } from '../store/types'
import type { DeliveryObserver, DeliveryOutcome } from './observer'
import type { AttemptResult } from './attempt'
import type { Executor } from './executor'
import { describeFailure, decide } from './classify'
import { parseRetryAfter } from './backoff'
import { LinkCache } from './identity'
import { lateFeatureRequests } from './late'
import type { Signal } from './limiter'
import type { Answer } from './recovery'
import type { OutcomeWriter } from './outcome-writer'
import { planEvent, type RouteFn } from './plan'
import type { ActiveSubscription } from './subscriptions'
import { samplesOf, completedSubscriptions } from './samples'
import { CSB_DESTINATION, type CsbSettings, type DeliveryLogger, type DeliverySettings, type DestinationSettings } from './types'

/**
 * Which destination a pipeline delivers to, and which of CSB's own behaviours apply: filling
 * `account_id` from the identity map (and learning links for it), and counting late feature
 * requests, are CSB's; other destinations get the event as routed.
 */
export interface DestinationProfile {
  name: string
  /** Fill accounts from the identity map and learn links (CSB). */
  identity: boolean
  /** Count feature requests CSB does not aggregate into their day (CSB, late.ts). */
  lateFeatures: boolean
  /** Secret values of these settings, scrubbed from failure reasons. */
  secretsOf(settings: DestinationSettings): string[]
}

/** CustomerSuccessBox, the built-in destination: every behaviour on. */
export const CSB_PROFILE: DestinationProfile = {
  name: CSB_DESTINATION,
  identity: true,
  lateFeatures: true,
  secretsOf: (settings) => [(settings as CsbSettings).apiKey]
}

/** The concurrency slot an event holds while it runs (the scheduler's limiter behind it). */
export interface Slot {
  /** Frees the slot, saying how CSB's answer bears on the limit. Only the first call counts. */
  free(signal: Signal): void
  /** Holds every new request until `at` (CSB's Retry-After on a 429 applies to the whole client). */
  pauseUntil(at: number): void
}

export interface EventDeliveryOptions {
  store: Store
  writer: OutcomeWriter
  /** Runs the destination (in this thread or in worker threads). */
  executor: Executor
  subscriptions: ActiveSubscription[]
  route?: RouteFn
  settings: DeliverySettings
  logger: DeliveryLogger
  observer: DeliveryObserver
  /** Default: CSB_PROFILE. */
  profile?: DestinationProfile
  random?: () => number
  /** Hears how each request's answer bears on its destination's health (recovery.ts). */
  answered?(destination: string, answer: Answer): void
}

interface ReportFields {
  action: string | null
  status: number | null
  reason?: string
  attempts: number
  lateFeatures?: number
}

export class EventDelivery {
  /** Outcomes recorded by this instance, by kind. */
  readonly counts: Record<DeliveryOutcome, number> = { delivered: 0, retrying: 0, dead: 0, skipped: 0 }
  private readonly links = new LinkCache()

  private readonly profile: DestinationProfile

  constructor(private readonly options: EventDeliveryOptions) {
    this.profile = options.profile ?? CSB_PROFILE
  }

  /**
   * Runs one event to an outcome and records it. The slot is freed as soon as CSB's answer is
   * classified (or at once when no request is made), before the outcome is committed. Throws on
   * the relay's own failures (store unreachable...): the event stays leased and comes back after
   * its lease.
   */
  async deliver(leased: LeasedEvent, csb: DestinationSettings | undefined, slot: Slot): Promise<void> {
    const { store, writer, executor, settings } = this.options
    // The store counts an attempt when it leases the event, so `attempts` already includes this one.
    const attempts = Math.max(1, leased.attempts)
    if (!csb) {
      // Settings were removed while it waited in the buffer: give it back.
      slot.free('neutral')
      await store.extendLease([leased.id], 0)
      return
    }

    const plan = await planEvent(leased.event, {
      route: this.options.route,
      subscriptions: this.options.subscriptions,
      accounts: this.profile.identity ? store : undefined,
      done: completedSubscriptions(leased.samples)
    })
    // Learned on every attempt (idempotent; the link cache skips unchanged links). The links go
    // out in the outcome writer's next batch while the attempt runs, and are awaited before this
    // event's outcome is queued (`settled`), so the key's next event finds them. The event's slot
    // (a request to CSB) is freed before that wait: links still being committed hold the key, not
    // the slot.
    const settled = this.learn(plan.links)
    if (plan.kind !== 'run') {
      slot.free('neutral')
      await settled()
      if (plan.kind === 'skip') return this.skip(leased, plan.reason)
      return this.deadLetterNow(leased, attempts, plan.reason)
    }

    // The UTC day CSB receives the request on, for the late-feature count (late.ts).
    const sentAt = Date.now()
    let attempt: AttemptResult
    try {
      attempt = await executor.run({ event: plan.event, settings: csb, subscriptions: plan.run.map((sub) => sub.name) })
    } catch (err) {
      await settled()
      throw err
    }
    const succeeded = [...plan.done, ...attempt.results.filter((r) => !r.error).map((r) => r.subscription)]
    const samples = samplesOf(attempt, succeeded)
    const last = attempt.results[attempt.results.length - 1]
    const lastResponse = last?.exchanges[last.exchanges.length - 1]?.response
    const action = attempt.failed?.action ?? (attempt.results.map((r) => r.action).join(',') || null)
    // Counted for the subscriptions that succeeded, whatever the others did: a retry skips them.
    const lateFeatures = this.profile.lateFeatures ? lateFeatureRequests(attempt.results.filter((r) => !r.error), sentAt) : 0
    const late = lateFeatures > 0 ? { lateFeatures } : {}
    const base = { id: leased.id, leaseId: leased.leaseId }

    if (!attempt.failed) {
      slot.free('ok')
      this.options.answered?.(leased.destination, 'success')
      // The links are committed before the outcome is queued; a failure to write them leaves the
      // event leased (our own failure: it comes back after its lease and teaches them again).
      await settled()
      await writer.complete({ ...base, action, status: lastResponse?.status ?? null, samples })
      this.report('delivered', leased, { action, status: lastResponse?.status ?? null, attempts, ...late })
      return
    }

    const failedResponse = attempt.failed.exchanges[attempt.failed.exchanges.length - 1]?.response
    const facts = describeFailure(
      attempt.failed.error,
      failedResponse?.status ?? null,
      parseRetryAfter(failedResponse?.headers['retry-after'])
    )
    const reason = scrubText(
      `${facts.reason}${plan.matched.length > 1 ? ` (subscription "${attempt.failed.subscription}")` : ''}`,
      this.profile.secretsOf(csb)
    )
    const now = new Date()
    const decision = decide({ ...facts, reason }, attempts, leased.firstFailedAt, now, settings, this.options.random)
    if (facts.status === 429 && facts.retryAfterMs) slot.pauseUntil(now.getTime() + Math.min(facts.retryAfterMs, settings.backoffCapMs))
    slot.free(facts.congestion ? 'congestion' : 'neutral')
    this.options.answered?.(leased.destination, facts.retryable && facts.status !== 429 ? 'outage' : 'other')
    await settled()
    const logFields = { eventId: leased.id, messageId: leased.messageId, action, status: facts.status, attempts, reason }
    if (decision.kind === 'retry') {
      // CSB's own wait (Retry-After; a 429's whole backoff) holds even when CSB answers again.
      const notBefore = facts.retryAfterMs ? new Date(now.getTime() + facts.retryAfterMs) : facts.status === 429 ? decision.runAt : undefined
      await writer.retryLater({ ...base, runAt: decision.runAt, notBefore, error: reason, action, status: facts.status, samples })
      this.report('retrying', leased, { action, status: facts.status, reason, attempts, ...late })
      this.options.logger.warn({ ...logFields, retryAt: decision.runAt.toISOString() }, 'delivery failed; will retry')
    } else {
      await writer.deadLetter({ ...base, reason: decision.reason, action, status: facts.status, samples })
      this.report('dead', leased, { action, status: facts.status, reason: decision.reason, attempts, ...late })
      this.options.logger.error({ ...logFields, reason: decision.reason }, 'delivery failed; dead-lettered')
    }
  }

  /**
   * Queues the links not written recently; returns what to await before the event's outcome is
   * queued. A failed write is forgotten by the cache, so the next event stating the link retries it.
   */
  private learn(taught: IdentityLink[]): () => Promise<void> | undefined {
    const links = this.links.fresh(taught)
    if (links.length === 0) return () => undefined
    const learned = this.options.writer.learn(links)
    learned.catch(() => this.links.forget(links))
    return () => learned
  }

  private report(outcome: DeliveryOutcome, leased: LeasedEvent, fields: ReportFields): void {
    this.counts[outcome]++
    this.options.observer.outcome?.({
      outcome,
      destination: this.profile.name,
      eventId: leased.id,
      messageId: leased.messageId,
      ...fields,
      ...(outcome === 'delivered' ? { endToEndMs: Date.now() - leased.receivedAt.getTime() } : {})
    })
  }

  /** Dead-letters an event that never reached CSB (its slot is already free). */
  private async deadLetterNow(leased: LeasedEvent, attempts: number, reason: string): Promise<void> {
    await this.options.writer.deadLetter({ id: leased.id, leaseId: leased.leaseId, reason, action: null, status: null })
    this.report('dead', leased, { action: null, status: null, reason, attempts })
    this.options.logger.error({ eventId: leased.id, messageId: leased.messageId, attempts, reason }, 'delivery failed; dead-lettered')
  }

  /** Records an event nothing is sent for (its slot is already free). */
  private async skip(leased: LeasedEvent, reason: string): Promise<void> {
    await this.options.writer.skip({ id: leased.id, leaseId: leased.leaseId, reason })
    this.report('skipped', leased, { action: null, status: null, reason, attempts: leased.attempts })
  }
}
