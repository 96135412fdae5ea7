/**
 * The scheduler: one loop per relay instance keeps a small buffer of leased events (leases.ts;
 * each the head of its ordering key: per-key order is the store's property) and starts them as
 * the limiter allows; each started event is delivered by `EventDelivery` (deliver.ts). An
 * event's limiter slot (a request to CSB in flight) is freed when CSB answers; its ordering key
 * stays held until the outcome is committed, so the key's next event never starts before it is
 * recorded. At most UNRECORDED_PER_SLOT × the concurrency limit of events are "sent but not yet
 * recorded" at once (the bound on duplicates after a crash): the loop starts no event while that
 * many are running or settling.
 *
 * The loop sleeps when there is nothing to do. Whatever wakes it (new events, new settings, a
 * freed slot, a recorded outcome, a lease answering, its own timer, stop) goes through
 * `wakeLoop`, whose cause says what else the wake does (wake.ts).
 */
import type { LeasedEvent, Store } from '../store/types'
import type { DeliveryObserver, DeliveryOutcome } from './observer'
import type { Executor } from './executor'
import { EventDelivery, type Slot } from './deliver'
import { AdaptiveLimiter, TokenBucket, type Ticket } from './limiter'
import { OutcomeWriter } from './outcome-writer'
import type { RouteFn } from './plan'
import type { ActiveSubscription } from './subscriptions'
import type { DeliveryLogger, DeliverySettings, DestinationSettings } from './types'
import { CSB_PROFILE, type DestinationProfile } from './deliver'
import { Leases, STORE_ERROR_WAIT_MS } from './leases'
import { RecoveryWatch } from './recovery'
import { WAKE_EFFECTS, type WakeCause } from './wake'

export type { RouteFn } from './plan'

/**
 * Events started and not yet recorded, per concurrency slot: a slot is freed when CSB answers,
 * and the outcome's commit follows a few ms later, so a little more than 1 is enough to keep
 * every slot busy. Times `maxConcurrency`, it bounds the duplicates after a crash.
 */
export const UNRECORDED_PER_SLOT = 2
/** Poll interval while CSB is not configured: setting it wakes the loop, so this is only a backstop. */
const UNCONFIGURED_POLL_MS = 60_000
/** Waiting for a slot, in poll intervals: a freed slot wakes the loop, the timer is only a backstop. */
const SLOT_WAIT_POLLS = 10
/**
 * How long `stop()` waits for running events to be recorded, by default: two request timeouts at
 * the default setting (an event running two subscriptions back to back can still finish), and
 * within the 30 s a container is usually given to stop before it is killed.
 */
export const STOP_TIMEOUT_MS = 20_000

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
  /** Which destination this pipeline delivers to, and the behaviours that are CSB's alone (default: CSB). */
  profile?: DestinationProfile
  /** The destination's settings; absent until it is configured (CSB only: its settings may come at runtime). */
  csb?: DestinationSettings
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

/** How `stop()` ended: every running event recorded, or the timeout passed first. */
export type StopResult = 'recorded' | 'timed-out'

export class Pipeline {
  private readonly limiter: AdaptiveLimiter
  private readonly bucket: TokenBucket | null
  private readonly writer: OutcomeWriter
  private readonly delivery: EventDelivery
  private readonly leases: Leases
  private readonly recovery: RecoveryWatch
  /** Events started and not yet recorded, with the promise that settles when each is. */
  private readonly running = new Map<string, Promise<void>>()
  private csb: DestinationSettings | undefined
  private stopping = false
  private loopDone: Promise<void> | null = null
  /** The loop's sleep, while it sleeps: its timer and how to end it. */
  private sleeping: { timer: NodeJS.Timeout; resume: () => void } | null = null
  /** A wake deferred to the end of this event-loop turn (slots freed by answers). */
  private turnEndWake: NodeJS.Immediate | null = null

  constructor(private readonly options: PipelineOptions) {
    const s = options.settings
    this.limiter = new AdaptiveLimiter(s, (limit) => options.observer.concurrency?.(limit, (options.profile ?? CSB_PROFILE).name))
    this.bucket = s.maxRatePerSecond > 0 ? new TokenBucket(s.maxRatePerSecond) : null
    this.writer = new OutcomeWriter(options.store, options.observer)
    this.recovery = new RecoveryWatch({ ...options, settled: () => this.writer.drain(), recovered: () => this.wakeLoop('recovered') })
    this.delivery = new EventDelivery({ ...options, writer: this.writer, answered: (destination, answer) => this.recovery.answered(destination, answer) })
    this.leases = new Leases({
      ...options,
      destination: (options.profile ?? CSB_PROFILE).name,
      timed: (operation, fn) => this.timed(operation, fn),
      answered: () => this.wakeLoop('lease-done')
    })
    this.csb = options.csb
    options.observer.concurrency?.(this.limiter.limit, (options.profile ?? CSB_PROFILE).name)
  }

  start(): void {
    if (!this.loopDone) this.loopDone = this.loop()
  }

  setCsbSettings(csb: DestinationSettings | undefined): void {
    this.csb = csb
    this.wakeLoop('settings')
  }

  get csbSettings(): DestinationSettings | undefined {
    return this.csb
  }

  /** New events or a replay: lease now instead of at the next poll. */
  wake(): void {
    this.wakeLoop('events')
  }

  /** Drops the buffered events whose lease is no longer held and waits for the running ones no longer held (Leases.revalidate). */
  async revalidateLeases(): Promise<void> {
    if ((await this.leases.revalidate(this.running)) > 0) this.wakeLoop('key-freed')
  }

  stats(): PipelineStats {
    return {
      csbConfigured: this.csb !== undefined,
      concurrency: this.limiter.limit,
      inFlight: this.limiter.inFlight,
      unrecorded: this.running.size,
      buffered: this.leases.buffered,
      paused: this.limiter.pausedFor() > 0,
      counts: { ...this.delivery.counts }
    }
  }

  /**
   * Stops leasing and lets running events finish and record their outcome, for up to `timeoutMs`;
   * buffered events are given back at once. Resolves 'recorded' when every running event was
   * recorded, 'timed-out' when the timeout passed first (those events stay leased and are
   * delivered again after their lease).
   */
  async stop(timeoutMs: number = STOP_TIMEOUT_MS): Promise<StopResult> {
    this.stopping = true
    this.wakeLoop('stop')
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<StopResult>((resolve) => (timer = setTimeout(() => resolve('timed-out'), timeoutMs)))
    const result = await Promise.race([this.finish().then((): StopResult => 'recorded'), timedOut])
    clearTimeout(timer)
    if (result === 'timed-out') {
      this.options.logger.warn(
        { unrecorded: this.running.size, timeoutMs },
        'delivery: stopped before every running event was recorded; they are delivered again after their lease'
      )
    }
    await this.leases.close()
    return result
  }

  /** Resolves once the loop has ended and every event it started is recorded. */
  private async finish(): Promise<void> {
    await this.loopDone
    // A lease that answers now still fills the buffer, whose events `stop()` gives back.
    await this.leases.underWay
    // The loop has ended, so no event starts after this snapshot.
    await Promise.all(this.running.values())
    await this.writer.drain()
  }

  /**
   * The one way to wake the loop. Every cause runs the loop now if it sleeps (a slot freed by an
   * answer: at the end of this event-loop turn); the cause's effects (wake.ts) say what else the
   * wake does.
   */
  private wakeLoop(cause: WakeCause): void {
    const effect = WAKE_EFFECTS[cause]
    if (effect.atTurnEnd) {
      this.turnEndWake ??= setImmediate(() => {
        this.turnEndWake = null
        this.wakeLoop('turn-end')
      })
      return
    }
    if (effect.unseenEvents) this.leases.noteNewEvents()
    if (effect.leaseSoon) {
      // This wake does what a wake deferred to the turn's end would.
      if (this.turnEndWake) clearImmediate(this.turnEndWake)
      this.turnEndWake = null
      this.leases.leaseSoon()
    }
    const sleeping = this.sleeping
    this.sleeping = null
    if (sleeping) {
      clearTimeout(sleeping.timer)
      sleeping.resume()
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resume) => {
      this.sleeping = { timer: setTimeout(() => this.wakeLoop('timer'), ms), resume }
    })
  }

  private async loop(): Promise<void> {
    const s = this.options.settings
    while (!this.stopping) {
      let waitMs = s.pollIntervalMs
      try {
        if (!this.csb) {
          waitMs = UNCONFIGURED_POLL_MS
        } else {
          await this.leases.extendWhenDue(this.running.keys())
          // The lease runs beside the loop: buffered events go on starting while it is under way.
          const limit = this.limiter.limit
          this.leases.refill(limit)
          waitMs = Math.min(this.dispatch(), this.leases.untilDue(limit))
        }
      } catch (err) {
        this.options.logger.error({ err: String(err) }, 'delivery: store error in the worker loop; retrying')
        waitMs = Math.max(s.pollIntervalMs, STORE_ERROR_WAIT_MS)
      }
      if (!this.stopping && waitMs > 0) await this.sleep(waitMs)
    }
  }

  /** Starts buffered events while the limiter and rate allow; returns how long to wait before trying again. */
  private dispatch(): number {
    const slotWaitMs = this.options.settings.pollIntervalMs * SLOT_WAIT_POLLS
    while (this.leases.buffered > 0) {
      const pause = this.limiter.pausedFor()
      if (pause > 0) return pause
      // Requests in flight plus outcomes being committed; a recorded outcome wakes the loop.
      if (this.running.size >= this.limiter.limit * UNRECORDED_PER_SLOT) return slotWaitMs
      const ticket = this.limiter.tryAcquire()
      if (!ticket) return slotWaitMs
      // The rate token last: one is spent only on an event that starts now.
      if (this.bucket) {
        const wait = this.bucket.take()
        if (wait > 0) {
          this.limiter.release(ticket, 'neutral')
          return wait
        }
      }
      // Undefined when every buffered event's lease may have run out (Leases.take dropped them).
      const event = this.leases.take()
      if (event) this.running.set(event.id, this.process(event, ticket))
      else this.limiter.release(ticket, 'neutral')
    }
    return this.options.settings.pollIntervalMs
  }

  private async timed<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint()
    try {
      return await fn()
    } finally {
      this.options.observer.storeLatency?.(operation, Number(process.hrtime.bigint() - started) / 1e9)
    }
  }

  /** Delivers one started event, then frees its key; never rejects. */
  private async process(leased: LeasedEvent, ticket: Ticket): Promise<void> {
    let freed = false
    const slot: Slot = {
      free: (signal) => {
        if (freed) return
        freed = true
        this.limiter.release(ticket, signal)
        this.wakeLoop('slot-freed')
      },
      // Once per round (limiter.ts): a request that started before the current pause cannot extend it.
      pauseUntil: (at) => this.limiter.pauseUntil(at, ticket)
    }
    try {
      await this.delivery.deliver(leased, this.csb, slot)
    } catch (err) {
      // Our own failure (store unreachable...), not the event's: leave it leased; it comes back after the lease.
      this.options.logger.error({ err: String(err), eventId: leased.id }, 'delivery: could not process event; it will be retried after its lease')
    } finally {
      this.running.delete(leased.id)
      this.leases.release(leased.orderingKey)
      slot.free('neutral')
      this.wakeLoop('key-freed')
    }
  }
}
