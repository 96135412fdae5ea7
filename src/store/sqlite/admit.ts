import type { QueuedListeners } from '../queued'
import { summariseQueued } from '../queued'
import type { Checkpoints } from './checkpoint'
import type { SqliteContext } from './context'
import { enqueueEvents } from './enqueue'
import { countInbox, drainInbox, eventsOfInput, insertInboxRows, type DrainResult, type InboxInput } from './inbox'
import { withoutSuppressed } from './inbox-suppression'
import type { WriteOptions } from './write-queue'

/** Events one background move takes from the inbox at most (whole rows: a 2,500-event row moves alone). */
const DRAIN_SLICE_EVENTS = 5_000
/** A background move stops taking rows after this long (ms), so it holds up commits of new requests briefly. */
const DRAIN_SLICE_MS = 4
/** ... and after this long when no admit has arrived for BUSY_MS: fewer, larger commits while catching up. */
const DRAIN_QUIET_SLICE_MS = 25
/** An admit of at most this many events (per group) goes straight into the queue when the inbox is empty. */
const DIRECT_MAX_EVENTS = 200
/** More admitted events than this waiting, with admits still arriving, is a burst. */
const BURST_EVENTS = 5_000
/** An admit within this long (ms) means admits are still arriving. */
const BUSY_MS = 50
/** An inbox row older than this (ms) ends the yielding: under sustained load the move runs flat out. */
const MAX_YIELD_LAG_MS = 5_000
/** After a failed move, the next try waits this long (ms). */
const DRAIN_RETRY_MS = 1_000

type Write = <T>(fn: () => T, options?: WriteOptions) => Promise<T>

/** A move's result, with what admits had counted when it ran (see `moved`). */
export interface Moved extends DrainResult {
  countedRows: number
  countedEvents: number
}

/**
 * `admit`, and the background move of admitted events into the queue. A small admit is queued
 * inside its commit; a larger one (or any while rows wait) is committed as one inbox row, and
 * the move (drainSlice) takes rows into the queue in short slices. It runs flat out while the
 * inbox is small, so at steady rates events reach the queue within milliseconds. During a burst
 * (more than BURST_EVENTS waiting and requests still arriving) it waits, checking every BUSY_MS,
 * so the burst is accepted at the speed of the commit; once the oldest row has waited
 * MAX_YIELD_LAG_MS it runs flat out again, so under sustained load accepting and moving share
 * the CPU. A move that fails is logged, counted (`errors`) and tried again after DRAIN_RETRY_MS;
 * a row that cannot be queued becomes a dead letter (inbox.ts) and is logged and counted too.
 */
export class Admitter {
  /** Committed inbox rows and events not yet moved (hints kept in memory: this connection commits them). */
  private rows = 0
  private events = 0
  /** Every row and event admits have counted (inside their transactions), for `moved`. */
  private countedRows = 0
  private countedEvents = 0
  private scheduled = false
  private closing = false
  private lastAdmitAt = Number.NEGATIVE_INFINITY
  private nextAdmittedAt: number | null = null
  /** Failed moves, and rows kept as dead letters because they could not be queued. */
  errors = 0

  constructor(
    private readonly ctx: SqliteContext,
    private readonly write: Write,
    private readonly queued: QueuedListeners,
    private readonly checkpoints: Checkpoints
  ) {
    const inbox = countInbox(ctx)
    this.rows = inbox.rows
    this.events = inbox.events
    this.nextAdmittedAt = inbox.oldestAt
    this.schedule()
  }

  /**
   * Commits each call's events: straight into the queue when the inbox is empty and the group is
   * small (the commit then costs little more than the inbox row would), else as one inbox row
   * per call, moved into the queue in the background. Either way a suppressed user's events are
   * dropped inside the commit, never written.
   */
  async admit(rows: InboxInput[]): Promise<void> {
    if (rows.length === 0) return
    let events = 0
    for (const row of rows) events += row.n
    const { summary, inboxed } = await this.write(() => {
      if (this.rows <= 0 && events <= DIRECT_MAX_EVENTS) {
        const expanded = rows.flatMap((row) => eventsOfInput(this.ctx, row))
        const results = enqueueEvents(this.ctx, expanded)
        return { summary: summariseQueued(expanded.map((e) => e.type), results), inboxed: false }
      }
      // A suppressed user's events never reach the inbox's pages (inbox-suppression.ts).
      const kept = withoutSuppressed(this.ctx, rows)
      if (kept.rows.length === 0) return { summary: kept.dropped, inboxed: false }
      insertInboxRows(this.ctx, kept.rows)
      // Counted here, inside the transaction, so a direct enqueue later in the same group sees them.
      let keptEvents = 0
      for (const row of kept.rows) keptEvents += row.n
      this.rows += kept.rows.length
      this.events += keptEvents
      this.countedRows += kept.rows.length
      this.countedEvents += keptEvents
      return { summary: kept.dropped, inboxed: true }
    })
    if (summary) this.queued.emit(summary)
    if (!inboxed) return
    this.lastAdmitAt = performance.now()
    this.nextAdmittedAt ??= this.ctx.options.now()
    this.schedule()
  }

  /** Inside a write: moves the whole inbox when rows wait; hand the result to `moved` after the commit. */
  moveAllNow(): Moved | null {
    return this.rows > 0 ? this.drain(Infinity) : null
  }

  /** Moves the whole inbox now (readers call this first, to see every admitted event). */
  async flush(): Promise<void> {
    if (this.rows <= 0) return
    this.moved(await this.write(() => this.drain(Infinity), { durable: false }))
  }

  /** Inside a write. */
  private drain(maxEvents: number, deadline?: number): Moved {
    return { ...drainInbox(this.ctx, maxEvents, deadline), countedRows: this.countedRows, countedEvents: this.countedEvents }
  }

  /** After the commit of a move. */
  moved(result: Moved): void {
    if (result.nextAdmittedAt === null) {
      // The move left nothing: what waits now is what admits counted after it ran, later in
      // its group or since (an admit rolled back may be among them: that costs a move that
      // finds nothing, which sets the hints right again).
      this.rows = this.countedRows - result.countedRows
      this.events = this.countedEvents - result.countedEvents
    } else {
      this.rows -= result.rows
      this.events -= result.moved
    }
    this.nextAdmittedAt = result.nextAdmittedAt ?? (this.rows > 0 ? this.ctx.options.now() : null)
    for (const dead of result.deadLettered) {
      this.errors++
      this.ctx.options.logger.error({ inboxRow: dead.row, reason: dead.reason }, 'store: an inbox row could not be queued; it is kept as a dead letter')
    }
    this.queued.emit(result.summary)
    this.schedule()
  }

  /** After the commit of a purge that deleted `rows` inbox rows and took `events` events out of rows. */
  purged(rows: number, events: number): void {
    this.rows = Math.max(0, this.rows - rows)
    this.events = Math.max(0, this.events - events)
  }

  /** More than BURST_EVENTS admitted and waiting, and admits still arriving. */
  inBurst(now = performance.now()): boolean {
    return this.events > BURST_EVENTS && now - this.lastAdmitAt < BUSY_MS
  }

  /** No more background moves start. */
  close(): void {
    this.closing = true
  }

  /** The oldest inbox row has waited longer than MAX_YIELD_LAG_MS. */
  private lagging(): boolean {
    return this.nextAdmittedAt !== null && this.ctx.options.now() - this.nextAdmittedAt > MAX_YIELD_LAG_MS
  }

  private schedule(delayMs?: number): void {
    if (this.scheduled || this.closing || this.rows <= 0) return
    this.scheduled = true
    const run = () => void this.drainSlice()
    const wait = delayMs ?? (this.inBurst() && !this.lagging() ? BUSY_MS : undefined)
    // Not unref'd: an unref'd immediate does not keep the loop from blocking in poll until the
    // next timer or I/O. The chain ends when the inbox is empty or the store closes.
    if (wait === undefined) setImmediate(run)
    else setTimeout(run, wait).unref()
  }

  /** One background move of up to DRAIN_SLICE_EVENTS events, then the next is scheduled. */
  private async drainSlice(): Promise<void> {
    if (this.inBurst() && !this.lagging()) {
      // Still a burst: look again later.
      this.scheduled = false
      this.schedule()
      return
    }
    let retryIn: number | undefined
    try {
      const quiet = performance.now() - this.lastAdmitAt >= BUSY_MS
      const sliceMs = quiet ? DRAIN_QUIET_SLICE_MS : DRAIN_SLICE_MS
      const result = await this.write(() => this.drain(quiet ? Infinity : DRAIN_SLICE_EVENTS, performance.now() + sliceMs), { durable: false })
      this.moved(result)
      // The inbox is empty: copy what the move wrote back into the database now, while nothing
      // waits, rather than in the first commits of the next burst.
      if (result.nextAdmittedAt === null) this.checkpoints.run()
    } catch (error) {
      // The rows stay in the inbox and the move tries again. A store that is closing refuses
      // the write: that is no error.
      retryIn = DRAIN_RETRY_MS
      if (!this.closing) {
        this.errors++
        this.ctx.options.logger.error(
          { err: error instanceof Error ? error.message : String(error), waitingRows: this.rows, retryInMs: DRAIN_RETRY_MS },
          'store: moving admitted events into the queue failed; the events stay in the inbox and the move is tried again'
        )
      }
    } finally {
      this.scheduled = false
    }
    this.schedule(retryIn)
  }
}
