/**
 * The worker loop. One loop per relay instance keeps a small buffer of leased events (each the
 * head of its ordering key: per-key order is the store's property) and starts them as the
 * limiter allows. Each event: route → learn identity links and fill the account → match
 * subscriptions → run the destination → classify → write the outcome. Outcome writes are
 * group-committed by `OutcomeWriter`. An event's limiter slot (a request to CSB in flight) is
 * freed when CSB answers; its ordering key stays held until the outcome is committed, so the
 * key's next event never starts before it is recorded. At most twice the concurrency limit of
 * events are "sent but not yet recorded" at once (the bound on duplicates after a crash): the
 * loop starts no event while that many are running or settling.
 *
 * The loop sleeps when there is nothing to do and wakes on: a freed slot, a committed outcome
 * (the key's next event may now be leased), `wake()` (new events, replay, new settings), the
 * poll interval, the end of a Retry-After pause or a rate-limit wait.
 */
import type { LeasedEvent, SegmentEvent, Store } from '../store/types'
import type { DeliveryObserver, DeliveryOutcome } from './observer'
import type { AttemptResult } from './attempt'
import type { Executor } from './executor'
import { describeFailure, decide, scrub } from './classify'
import { parseRetryAfter } from './backoff'
import { fillAccount, linksFrom, LinkCache } from './identity'
import { lateFeatureRequests } from './late'
import { AdaptiveLimiter, TokenBucket, type Signal, type Ticket } from './limiter'
import { OutcomeWriter } from './outcome-writer'
import { matching, type ActiveSubscription } from './subscriptions'
import { samplesOf, completedSubscriptions } from './samples'
import type { CsbSettings, DeliveryLogger, DeliverySettings } from './types'

/** Leases prompted by finishing events or by wake() (new events, replays) are at most this often (ms). */
const LEASE_COALESCE_MS = 5
/**
 * Events started and not yet recorded, per concurrency slot: a slot is freed when CSB answers,
 * and the outcome's commit follows a few ms later, so a little more than 1 is enough to keep
 * every slot busy. Times `maxConcurrency`, it bounds the duplicates after a crash.
 */
export const UNRECORDED_PER_SLOT = 2
export type RouteFn = (event: SegmentEvent) => { deliver: true; event: SegmentEvent } | { deliver: false; reason: string }

export interface PipelineOptions {
  store: Store
  settings: DeliverySettings
  /** Runs the destination (in this thread or in worker threads). */
  executor: Executor
  subscriptions: ActiveSubscription[]
  route?: RouteFn
  logger: DeliveryLogger
  observer: DeliveryObserver
  instanceId: string
  csb?: CsbSettings
  random?: () => number
}

export interface PipelineStats {
  csbConfigured: boolean
  concurrency: number
  /** Requests to CSB under way (each holds a concurrency slot). */
  inFlight: number
  /** Events started and not yet recorded: in flight, or answered with their outcome being committed. */
  unrecorded: number
  buffered: number
  paused: boolean
  counts: Record<DeliveryOutcome, number>
}

export class Pipeline {
  private readonly limiter: AdaptiveLimiter
  private readonly bucket: TokenBucket | null
  private readonly writer: OutcomeWriter
  private buffer: LeasedEvent[] = []
  /** Ordering keys this instance holds (buffered or running), passed to `lease` as excludeKeys. */
  private readonly held = new Set<string>()
  private readonly running = new Map<string, LeasedEvent>()
  private csb: CsbSettings | undefined
  private stopping = false
  private loopDone: Promise<void> | null = null
  private wakeUp: (() => void) | null = null
  private nextLeaseAt = 0
  private lastLeaseAt = 0
  /** The lease under way, if any (`stop()` waits for it). */
  private leaseRun: Promise<void> | null = null
  /** Woken while a lease ran: the wake may concern events that lease did not see. */
  private wokenWhileLeasing = false
  private lastLeaseExtend = Date.now()
  private readonly links = new LinkCache()
  private readonly counts: Record<DeliveryOutcome, number> = { delivered: 0, retrying: 0, dead: 0, skipped: 0 }

  constructor(private readonly options: PipelineOptions) {
    const s = options.settings
    this.limiter = new AdaptiveLimiter(s, (limit) => options.observer.concurrency?.(limit))
    this.bucket = s.maxRatePerSecond > 0 ? new TokenBucket(s.maxRatePerSecond) : null
    this.writer = new OutcomeWriter(options.store, options.observer)
    this.csb = options.csb
    options.observer.concurrency?.(this.limiter.limit)
  }

  start(): void {
    if (!this.loopDone) this.loopDone = this.loop()
  }

  setCsbSettings(csb: CsbSettings | undefined): void {
    this.csb = csb
    this.wake()
  }

  get csbSettings(): CsbSettings | undefined {
    return this.csb
  }

  /**
   * New events, a replay or new settings: lease now instead of at the next poll (at most every
   * LEASE_COALESCE_MS, so that ingest waking on every stored batch costs few leases).
   */
  wake(): void {
    if (this.leaseRun !== null) this.wokenWhileLeasing = true
    this.kick()
  }

  private kickImmediate: NodeJS.Immediate | null = null
  /**
   * Runs the loop at the end of this event-loop turn (a slot freed by an answer), unless something
   * runs it sooner: slots freed by CSB's answers start their next events together, once the loop has
   * read every answer that arrived in its turn (setImmediate: the turn's check phase). Starting
   * each next request at once, one by one, cost measurably more CPU per event (more wake-ups of
   * this process and of CSB's) than it saved; a 2 ms timer (until 29 November) kept each freed
   * slot idle about a millisecond longer (docs/delivery.md, Benchmark).
   */
  private kickSoon(): void {
    if (this.kickImmediate) return
    this.kickImmediate = setImmediate(() => {
      this.kickImmediate = null
      this.kick()
    })
  }

  /** Runs the loop now (a slot freed); leases soon, coalescing the leases of many finishing events into one. */
  private kick(): void {
    if (this.kickImmediate) {
      clearImmediate(this.kickImmediate)
      this.kickImmediate = null
    }
    this.nextLeaseAt = Math.min(this.nextLeaseAt, this.lastLeaseAt + LEASE_COALESCE_MS)
    this.runLoop()
  }

  /** Runs the loop now if it sleeps, without changing when it may lease next. */
  private runLoop(): void {
    const wake = this.wakeUp
    this.wakeUp = null
    wake?.()
  }

  stats(): PipelineStats {
    return {
      csbConfigured: this.csb !== undefined,
      concurrency: this.limiter.limit,
      inFlight: this.limiter.inFlight,
      unrecorded: this.running.size,
      buffered: this.buffer.length,
      paused: this.limiter.pausedFor() > 0,
      counts: { ...this.counts }
    }
  }

  /** Stops leasing, lets running events finish and record their outcome; buffered events are given back. */
  async stop(): Promise<void> {
    this.stopping = true
    this.wake()
    await this.loopDone
    // A lease that answers now still fills the buffer, whose events are given back below.
    await this.leaseRun
    while (this.running.size > 0) await new Promise((resolve) => setTimeout(resolve, 10))
    await this.writer.drain()
    // Buffered events were never started: give them back at once rather than at lease expiry.
    const unstarted = this.buffer
    this.buffer = []
    if (unstarted.length > 0) {
      await this.options.store
        .extendLease(unstarted.map((e) => e.id), 0)
        .catch((err) => this.options.logger.warn({ err: String(err) }, 'delivery: could not release buffered leases'))
    }
  }

  private async loop(): Promise<void> {
    const s = this.options.settings
    while (!this.stopping) {
      let waitMs = s.pollIntervalMs
      try {
        if (!this.csb) {
          waitMs = 60_000
        } else {
          await this.extendLeasesWhenDue()
          // Keep up to 1.5 × limit leased; refill once the buffer falls to the limit (leases of about
          // half the limit: each holds the store's thread, and commits queued behind it, for less time).
          // The lease runs beside the loop: buffered events go on starting while it is under way.
          const low = this.limiter.limit
          if (this.buffer.length <= low && this.leaseRun === null && Date.now() >= this.nextLeaseAt) this.startLease()
          waitMs = this.dispatch()
          // A running lease runs the loop when it ends.
          if (this.buffer.length <= low && this.leaseRun === null) waitMs = Math.min(waitMs, Math.max(0, this.nextLeaseAt - Date.now()))
        }
      } catch (err) {
        this.options.logger.error({ err: String(err) }, 'delivery: store error in the worker loop; retrying')
        waitMs = Math.max(s.pollIntervalMs, 1000)
      }
      if (!this.stopping && waitMs > 0) await this.sleep(waitMs)
    }
  }

  /**
   * Leases up to 1.5 × limit buffered events without holding up the loop (a lease takes a store
   * round trip, 5 to 20 ms under load, during which slots freed by answers would otherwise stay
   * idle); when it answers, the events join the buffer and the loop runs. One lease at a time.
   */
  private startLease(): void {
    const s = this.options.settings
    const target = this.limiter.limit + Math.floor(this.limiter.limit / 2)
    this.lastLeaseAt = Date.now()
    this.wokenWhileLeasing = false
    this.leaseRun = this.timed('lease', () =>
      this.options.store.lease({
        limit: Math.max(1, target - this.buffer.length),
        leaseMs: s.leaseMs,
        owner: this.options.instanceId,
        excludeKeys: this.held
      })
    )
      .then(
        (leased) => {
          for (const event of leased) {
            this.held.add(event.orderingKey)
            this.buffer.push(event)
          }
          // Nothing new: poll again later unless woken. Something: look again as soon as there is room.
          // A wake during the query (new events it may not have seen) leases again soon.
          this.nextLeaseAt =
            leased.length > 0 ? 0 : this.wokenWhileLeasing ? this.lastLeaseAt + LEASE_COALESCE_MS : Date.now() + s.pollIntervalMs
        },
        (err) => {
          this.options.logger.error({ err: String(err) }, 'delivery: store error while leasing; retrying')
          this.nextLeaseAt = Date.now() + Math.max(s.pollIntervalMs, 1000)
        }
      )
      .finally(() => {
        this.leaseRun = null
        this.runLoop()
      })
  }

  /** Starts buffered events while the limiter and rate allow; returns how long to wait before trying again. */
  private dispatch(): number {
    while (this.buffer.length > 0) {
      const pause = this.limiter.pausedFor()
      if (pause > 0) return pause
      // Sent but not yet recorded: at most 2 × limit (requests in flight plus outcomes being committed).
      if (this.running.size >= this.limiter.limit * UNRECORDED_PER_SLOT) return this.options.settings.pollIntervalMs * 10
      const ticket = this.limiter.tryAcquire()
      if (!ticket) return this.options.settings.pollIntervalMs * 10 // woken when a slot frees
      // The rate token last: one is spent only on an event that starts now.
      if (this.bucket) {
        const wait = this.bucket.take()
        if (wait > 0) {
          this.limiter.release(ticket, 'neutral')
          return wait
        }
      }
      const event = this.buffer.shift() as LeasedEvent
      this.running.set(event.id, event)
      void this.process(event, ticket)
    }
    return this.options.settings.pollIntervalMs
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null
        resolve()
      }, ms)
      this.wakeUp = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  private async extendLeasesWhenDue(): Promise<void> {
    const leaseMs = this.options.settings.leaseMs
    if (Date.now() - this.lastLeaseExtend < leaseMs / 3) return
    this.lastLeaseExtend = Date.now()
    const ids = [...this.buffer.map((e) => e.id), ...this.running.keys()]
    if (ids.length > 0) await this.timed('extendLease', () => this.options.store.extendLease(ids, leaseMs))
  }

  private async timed<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint()
    try {
      return await fn()
    } finally {
      this.options.observer.storeLatency?.(operation, Number(process.hrtime.bigint() - started) / 1e9)
    }
  }

  private async process(leased: LeasedEvent, ticket: Ticket): Promise<void> {
    let released = false
    // Frees the slot once (when CSB answers, or when the event ends without a request).
    const release = (signal: Signal) => {
      if (released) return
      released = true
      this.limiter.release(ticket, signal)
      this.kickSoon()
    }
    try {
      await this.deliver(leased, ticket, release)
    } catch (err) {
      // Our own failure (store unreachable...), not the event's: leave it leased; it comes back after the lease.
      this.options.logger.error({ err: String(err), eventId: leased.id }, 'delivery: could not process event; it will be retried after its lease')
    } finally {
      this.running.delete(leased.id)
      this.held.delete(leased.orderingKey)
      if (!released) release('neutral')
      // The key is free: its next event may be leased.
      this.kick()
    }
  }

  private report(
    outcome: DeliveryOutcome,
    leased: LeasedEvent,
    fields: { action: string | null; status: number | null; reason?: string; attempts: number; lateFeatures?: number }
  ) {
    this.counts[outcome]++
    this.options.observer.outcome?.({
      outcome,
      eventId: leased.id,
      messageId: leased.messageId,
      ...fields,
      ...(outcome === 'delivered' ? { endToEndMs: Date.now() - leased.receivedAt.getTime() } : {})
    })
  }

  /**
   * Runs one event to an outcome and records it. `release` frees its limiter slot with the
   * signal as soon as CSB's answer is classified, before the outcome is committed.
   */
  private async deliver(leased: LeasedEvent, ticket: Ticket, release: (signal: Signal) => void): Promise<void> {
    const csb = this.csb
    // The store counts an attempt when it leases the event, so `attempts` already includes this one.
    const attempts = Math.max(1, leased.attempts)
    const base = { id: leased.id, leaseId: leased.leaseId }
    if (!csb) {
      // Settings were removed while it waited in the buffer: give it back.
      release('neutral')
      await this.options.store.extendLease([leased.id], 0)
      return
    }

    let event: SegmentEvent = leased.event
    if (this.options.route) {
      let routed: ReturnType<RouteFn>
      try {
        routed = this.options.route(event)
      } catch (err) {
        // A poison event must not come back forever: routing is pure, so it would fail again.
        return this.deadLetterNow(leased, release, attempts, `routing failed: ${(err as Error).message}`)
      }
      if (!routed.deliver) return this.skip(leased, release, routed.reason)
      event = routed.event
    }
    // Learned on every attempt (idempotent; the link cache skips unchanged links). The links go
    // out in the outcome writer's next batch while the attempt runs, and are awaited before this
    // event's outcome is queued (`settled`), so the key's next event finds them. The event's slot
    // (a request to CSB) is freed before that wait: links still being committed hold the key, not
    // the slot. An event that teaches a link names its account, so filling (below) never waits for
    // its own links.
    const links = this.links.fresh(linksFrom(event))
    const learned = links.length > 0 ? this.writer.learn(links) : null
    learned?.catch(() => this.links.forget(links))
    const settled = learned ? () => learned : () => undefined
    try {
      event = (await fillAccount(event, this.options.store)).event
    } catch (err) {
      await settled()
      throw err
    }

    let matched: ActiveSubscription[]
    try {
      matched = matching(this.options.subscriptions, event)
    } catch (err) {
      release('neutral')
      await settled()
      return this.deadLetterNow(leased, release, attempts, `subscription matching failed: ${(err as Error).message}`)
    }
    if (matched.length === 0) {
      const what = event.type === 'track' && typeof event.event === 'string' ? `track "${event.event}"` : event.type
      release('neutral')
      await settled()
      return this.skip(leased, release, `no subscription matches ${what}`)
    }
    const done = completedSubscriptions(leased.samples)
    const toRun = matched.filter((s) => !done.includes(s.name))
    // The UTC day CSB receives the request on, for the late-feature count (late.ts).
    const sentAt = Date.now()
    let attempt: AttemptResult
    try {
      attempt = await this.options.executor.run({ event, settings: csb, subscriptions: toRun.map((sub) => sub.name) })
    } catch (err) {
      await settled()
      throw err
    }
    const succeeded = [...done, ...attempt.results.filter((r) => !r.error).map((r) => r.subscription)]
    const samples = samplesOf(attempt, succeeded)
    const last = attempt.results[attempt.results.length - 1]
    const lastResponse = last?.exchanges[last.exchanges.length - 1]?.response
    const action = attempt.failed?.action ?? (attempt.results.map((r) => r.action).join(',') || null)
    // Counted for the subscriptions that succeeded, whatever the others did: a retry skips them.
    const lateFeatures = lateFeatureRequests(attempt.results.filter((r) => !r.error), sentAt)
    const late = lateFeatures > 0 ? { lateFeatures } : {}

    if (!attempt.failed) {
      release('ok')
      // The links are committed before the outcome is queued; a failure to write them leaves the
      // event leased (our own failure: it comes back after its lease and teaches them again).
      await settled()
      await this.writer.complete({ ...base, action, status: lastResponse?.status ?? null, samples })
      this.report('delivered', leased, { action, status: lastResponse?.status ?? null, attempts, ...late })
      return
    }

    const failedResponse = attempt.failed.exchanges[attempt.failed.exchanges.length - 1]?.response
    const facts = describeFailure(
      attempt.failed.error,
      failedResponse?.status ?? null,
      parseRetryAfter(failedResponse?.headers['retry-after'])
    )
    const reason = scrub(
      `${facts.reason}${matched.length > 1 ? ` (subscription "${attempt.failed.subscription}")` : ''}`,
      [csb.apiKey]
    )
    const now = new Date()
    const decision = decide({ ...facts, reason }, attempts, leased.firstFailedAt, now, this.options.settings, this.options.random)
    if (facts.status === 429 && facts.retryAfterMs) {
      this.limiter.pauseUntil(now.getTime() + Math.min(facts.retryAfterMs, this.options.settings.backoffCapMs), ticket)
    }
    release(facts.congestion ? 'congestion' : 'neutral')
    await settled()
    const logFields = { eventId: leased.id, messageId: leased.messageId, action, status: facts.status, attempts, reason }
    if (decision.kind === 'retry') {
      await this.writer.retryLater({ ...base, runAt: decision.runAt, error: reason, action, status: facts.status, samples })
      this.report('retrying', leased, { action, status: facts.status, reason, attempts, ...late })
      this.options.logger.warn({ ...logFields, retryAt: decision.runAt.toISOString() }, 'delivery failed; will retry')
    } else {
      await this.writer.deadLetter({ ...base, reason: decision.reason, action, status: facts.status, samples })
      this.report('dead', leased, { action, status: facts.status, reason: decision.reason, attempts, ...late })
      this.options.logger.error({ ...logFields, reason: decision.reason }, 'delivery failed; dead-lettered')
    }
  }

  /** Dead-letters an event that never reached CSB (its slot is freed first). */
  private async deadLetterNow(leased: LeasedEvent, release: (signal: Signal) => void, attempts: number, reason: string): Promise<void> {
    release('neutral')
    await this.writer.deadLetter({ id: leased.id, leaseId: leased.leaseId, reason, action: null, status: null })
    this.report('dead', leased, { action: null, status: null, reason, attempts })
    this.options.logger.error({ eventId: leased.id, messageId: leased.messageId, attempts, reason }, 'delivery failed; dead-lettered')
  }

  /** Records an event no subscription takes (its slot is freed first: no request is made). */
  private async skip(leased: LeasedEvent, release: (signal: Signal) => void, reason: string): Promise<void> {
    release('neutral')
    await this.writer.skip({ id: leased.id, leaseId: leased.leaseId, reason })
    this.report('skipped', leased, { action: null, status: null, reason, attempts: leased.attempts })
  }
}
