/**
 * The scheduler's buffer of leased events (pipeline.ts): when to lease, leasing beside the loop,
 * extending the leases of held events, and giving back events never started. Each leased event is
 * the head of its ordering key (per-key order is the store's property); the keys this instance
 * holds, buffered or running, are excluded from its next leases.
 */
import type { LeasedEvent, Store } from '../store/types'
import type { DeliveryLogger, DeliverySettings } from './types'
import { LEASE_COALESCE_MS } from './wake'

/**
 * Events kept leased per concurrency slot (refilled once the buffer falls to one per slot): enough
 * to keep every slot busy while the next lease is under way, and leases of about half the limit,
 * each holding the store's thread (and the commits queued behind it) for a short time.
 */
export const LEASED_PER_SLOT = 1.5
/** Shortest wait after a store error, so that a store that is down is not hammered nor the log flooded. */
export const STORE_ERROR_WAIT_MS = 1000
/**
 * Lease extensions per lease length: held events are extended every third of a lease, so one
 * late or failed extension still leaves time for the next before the lease runs out.
 */
const EXTENSIONS_PER_LEASE = 3

/** What one check of the leases found. */
interface Checked {
  /** Buffered events dropped: their lease is no longer held. */
  dropped: number
  /** Running events whose lease is no longer held. */
  lost: string[]
}

export interface LeasesOptions {
  store: Store
  settings: Pick<DeliverySettings, 'leaseMs' | 'pollIntervalMs'>
  instanceId: string
  /** The destination whose events this buffer leases (only its ordering keys). */
  destination: string
  logger: DeliveryLogger
  /** Times a store call (reported to the observer). */
  timed<T>(operation: string, fn: () => Promise<T>): Promise<T>
  /** Called when a lease has answered (or failed): the loop should look at the buffer. */
  answered(): void
}

export class Leases {
  private buffer: LeasedEvent[] = []
  /** Ordering keys this instance holds (buffered or running), passed to `lease` as excludeKeys. */
  private readonly held = new Set<string>()
  /** The lease under way, if any. */
  private run: Promise<void> | null = null
  private nextAt = 0
  private lastAt = 0
  /** Woken while a lease ran: the wake may concern events that lease did not see. */
  private wokenWhileLeasing = false
  private lastExtend = Date.now()
  /** Set once the buffer is given back for good: a lease answering later gives its events back too. */
  private closed = false
  /** Buffered events set aside while the store checks their leases (`check`): none starts meanwhile. */
  private aside: LeasedEvent[] = []
  /** The extension under way (or the last one); the next waits for it. */
  private extensions: Promise<Checked | undefined> = Promise.resolve(undefined)
  /** Extensions asked for so far: a check that sees a later one asked for leaves its events aside for it. */
  private requested = 0
  /**
   * Until when this instance may start each buffered event: from when it asked for the event's
   * lease (or last extension that held), one lease length. Past it the store may have given the
   * event to another instance, or a regulation on another instance may be waiting for the lease
   * to run out (ops/regulations.ts): the event is dropped unsent, not started.
   */
  private readonly startableUntil = new WeakMap<LeasedEvent, number>()

  constructor(private readonly options: LeasesOptions) {}

  get buffered(): number {
    return this.buffer.length
  }

  /** The lease under way, or null. */
  get underWay(): Promise<void> | null {
    return this.run
  }

  /** A wake that may concern events the lease under way did not see. */
  noteNewEvents(): void {
    if (this.run !== null) this.wokenWhileLeasing = true
  }

  /** Leases at most LEASE_COALESCE_MS after the last lease began, not at the next poll. */
  leaseSoon(): void {
    this.nextAt = Math.min(this.nextAt, this.lastAt + LEASE_COALESCE_MS)
  }

  /** Starts a lease when the buffer has fallen to `limit` events, none is under way and one is due. */
  refill(limit: number): void {
    if (this.buffer.length <= limit && this.run === null && Date.now() >= this.nextAt) this.start(Math.floor(limit * LEASED_PER_SLOT))
  }

  /**
   * How long until `refill` would lease: Infinity while a lease is under way (its answer wakes
   * the loop) or the buffer holds more than `limit` events (events finishing wake it).
   */
  untilDue(limit: number): number {
    if (this.buffer.length > limit || this.run !== null) return Infinity
    return Math.max(0, this.nextAt - Date.now())
  }

  /**
   * The next buffered event to start, or undefined. One whose lease may have run out
   * (startableUntil) is dropped unsent on the way, its key released: the store gives it out again.
   */
  take(): LeasedEvent | undefined {
    const now = Date.now()
    let event = this.buffer.shift()
    let lapsed = 0
    for (; event && this.lapsed(event, now); event = this.buffer.shift()) lapsed++
    this.dropped(lapsed)
    return event
  }

  /** True, its key released, when the event's lease may have run out (startableUntil). */
  private lapsed(event: LeasedEvent, now: number): boolean {
    if (now < (this.startableUntil.get(event) ?? Infinity)) return false
    this.release(event.orderingKey)
    return true
  }

  private dropped(lapsed: number): void {
    if (lapsed > 0) this.options.logger.warn({ dropped: lapsed }, 'delivery: buffered events whose lease may have run out (no extension held) were dropped unsent; the store gives them out again')
  }

  /** The event with this key is recorded (or ended without an outcome): the key's next event may be leased. */
  release(orderingKey: string): void {
    this.held.delete(orderingKey)
  }

  /** Extends the leases of buffered and `running` events every leaseMs / EXTENSIONS_PER_LEASE. */
  async extendWhenDue(running: Iterable<string>): Promise<void> {
    if (Date.now() - this.lastExtend < this.options.settings.leaseMs / EXTENSIONS_PER_LEASE) return
    this.lastExtend = Date.now()
    await this.extend([...running])
  }

  /**
   * Extends the leases of the buffered and `running` events now, dropping the buffered ones no
   * longer held and waiting for the running ones no longer held to end: a regulation that
   * suppressed or purged users calls it (through Delivery) before it is recorded FINISHED, so no
   * copy of their events held here goes out afterwards. Resolves with how many were dropped.
   */
  async revalidate(running: ReadonlyMap<string, Promise<void>>): Promise<number> {
    const { dropped, lost } = await this.extend([...running.keys()])
    await Promise.all(lost.map((id) => running.get(id)))
    return dropped
  }

  /**
   * Extensions one at a time: a check asked for while another is under way runs after it, on
   * the events it kept (set aside, not startable, until then), since the store may have answered
   * the first before the change that prompted the second.
   */
  private extend(running: string[]): Promise<Checked> {
    const ticket = ++this.requested
    const run = this.extensions.catch(() => undefined).then(() => this.check(ticket, running))
    this.extensions = run
    return run
  }

  /**
   * Extends the leases of the buffered events (set aside meanwhile: none starts before the
   * store answers) and of `running`. A buffered event whose lease is no longer held (settled,
   * skipped by a suppression, purged) is dropped and its key released, as a settled event's is.
   * Running events are already on their way to CSB: nothing recalls them; those no longer held
   * are answered as `lost`.
   */
  private async check(ticket: number, running: string[]): Promise<Checked> {
    // One whose lease may have run out is dropped, not extended: the store answers by event id,
    // and another instance may hold that event's lease by now.
    const now = Date.now()
    const checking = [...this.aside, ...this.buffer].filter((e) => !this.lapsed(e, now))
    this.dropped(this.aside.length + this.buffer.length - checking.length)
    this.aside = []
    this.buffer = []
    const ids = [...checking.map((e) => e.id), ...running]
    if (ids.length === 0) return { dropped: 0, lost: [] }
    const later = () => this.requested > ticket
    const askedAt = Date.now()
    let held: Set<string>
    try {
      this.aside = checking
      held = new Set(await this.options.timed('extendLease', () => this.options.store.extendLease(ids, this.options.settings.leaseMs)))
    } catch (err) {
      this.aside = []
      this.restore(checking, later())
      throw err
    }
    this.aside = []
    const kept = checking.filter((e) => held.has(e.id))
    const dropped = checking.filter((e) => !held.has(e.id))
    for (const event of kept) this.startableUntil.set(event, askedAt + this.options.settings.leaseMs)
    for (const event of dropped) this.release(event.orderingKey)
    if (dropped.length > 0) this.options.logger.info({ dropped: dropped.length }, 'delivery: buffered events no longer leased (settled, suppressed or purged) were dropped unsent')
    this.restore(kept, later())
    return { dropped: dropped.length, lost: running.filter((id) => !held.has(id)) }
  }

  /** Events back from a check: before the rest of the buffer, or aside for the check queued after it; given back once closed. */
  private restore(events: LeasedEvent[], checkedAgain: boolean): void {
    if (this.closed) void this.giveBack(events)
    else if (checkedAgain) this.aside = events
    else this.buffer = [...events, ...this.buffer]
  }

  /** Gives back the buffered events (never started) at once rather than at lease expiry, and any a later lease takes. */
  async close(): Promise<void> {
    this.closed = true
    const unstarted = this.buffer
    this.buffer = []
    await this.giveBack(unstarted)
  }

  /**
   * Leases up to `target` buffered events without holding up the loop (a lease takes a store
   * round trip, 5 to 20 ms under load, during which slots freed by answers would otherwise stay
   * idle); when it answers, the events join the buffer and the loop is woken. One at a time.
   */
  private start(target: number): void {
    const s = this.options.settings
    this.lastAt = Date.now()
    const askedAt = this.lastAt
    this.wokenWhileLeasing = false
    this.run = this.options
      .timed('lease', () =>
        this.options.store.lease({
          limit: Math.max(1, target - this.buffer.length),
          leaseMs: s.leaseMs,
          owner: this.options.instanceId,
          excludeKeys: this.held,
          destination: this.options.destination
        })
      )
      .then(
        (leased) => {
          if (this.closed) return void this.giveBack(leased)
          for (const event of leased) {
            this.held.add(event.orderingKey)
            this.startableUntil.set(event, askedAt + s.leaseMs)
            this.buffer.push(event)
          }
          // Nothing new: poll again later unless woken. Something: look again as soon as there is room.
          // A wake during the query (new events it may not have seen) leases again soon.
          this.nextAt = leased.length > 0 ? 0 : this.wokenWhileLeasing ? this.lastAt + LEASE_COALESCE_MS : Date.now() + s.pollIntervalMs
        },
        (err) => {
          this.options.logger.error({ err: String(err) }, 'delivery: store error while leasing; retrying')
          this.nextAt = Date.now() + Math.max(s.pollIntervalMs, STORE_ERROR_WAIT_MS)
        }
      )
      .finally(() => {
        this.run = null
        this.options.answered()
      })
  }

  private async giveBack(events: LeasedEvent[]): Promise<void> {
    if (events.length === 0) return
    await this.options.store
      .extendLease(events.map((e) => e.id), 0)
      .catch((err) => this.options.logger.warn({ err: String(err) }, 'delivery: could not release buffered leases'))
  }
}
