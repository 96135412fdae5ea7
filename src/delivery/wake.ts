/**
 * Why the scheduler's loop (pipeline.ts) is woken, and what each cause does beside running the
 * loop now. Every wake goes through the one primitive, `Pipeline.wakeLoop(cause)`; this table is
 * the whole difference between the causes.
 */

/**
 * Leases prompted by finishing events or by new events are at most this often (ms): ingest wakes
 * delivery on every stored batch, and events finish by the hundred per second; coalescing them
 * costs a lease at most this much delay, and saves the store one lease query per wake.
 */
export const LEASE_COALESCE_MS = 5

export type WakeCause =
  /** New events were stored, or dead letters replayed (`Pipeline.wake()`). */
  | 'events'
  /** CSB settings were set or cleared. */
  | 'settings'
  /** `stop()`: the loop sees `stopping` and ends. */
  | 'stop'
  /** An event's outcome is recorded (or it ended without one): its key's next event may be leased. */
  | 'key-freed'
  /** CSB answered: the event's slot is free for the next buffered event. */
  | 'slot-freed'
  /** The end of an event-loop turn in which slots were freed. */
  | 'turn-end'
  /** A lease answered: its events are in the buffer (or it failed and set when to try again). */
  | 'lease-done'
  /** A destination answers again after an outage: its retries were made due (recovery.ts). */
  | 'recovered'
  /** The loop's own timer: the poll interval, a Retry-After pause or a rate-limit wait ran out. */
  | 'timer'

export interface WakeEffect {
  /**
   * The wake may concern events a lease under way did not see (they were stored after its
   * query began): once that lease answers, lease again after LEASE_COALESCE_MS, even if it
   * found nothing.
   */
  unseenEvents: boolean
  /** Lease again soon: at most LEASE_COALESCE_MS after the last lease began, not at the next poll. */
  leaseSoon: boolean
  /**
   * Wake at the end of this event-loop turn rather than now, once however often the cause comes
   * in the turn, with the effects of 'turn-end' (the cause's other flags are unused). Slots freed
   * by CSB's answers then start their next events together, once the loop has read every answer
   * that arrived in the turn (setImmediate: the turn's check phase). Starting each next request
   * at once, one by one, cost measurably more CPU per event (more wake-ups of this process and of
   * CSB's) than it saved; a short timer instead kept each freed slot idle about a millisecond
   * longer (docs/delivery.md, Benchmark).
   */
  atTurnEnd: boolean
}

export const WAKE_EFFECTS: Readonly<Record<WakeCause, WakeEffect>> = {
  events: { unseenEvents: true, leaseSoon: true, atTurnEnd: false },
  settings: { unseenEvents: true, leaseSoon: true, atTurnEnd: false },
  stop: { unseenEvents: true, leaseSoon: true, atTurnEnd: false },
  'key-freed': { unseenEvents: false, leaseSoon: true, atTurnEnd: false },
  'slot-freed': { unseenEvents: false, leaseSoon: false, atTurnEnd: true },
  'turn-end': { unseenEvents: false, leaseSoon: true, atTurnEnd: false },
  'lease-done': { unseenEvents: false, leaseSoon: false, atTurnEnd: false },
  recovered: { unseenEvents: true, leaseSoon: true, atTurnEnd: false },
  timer: { unseenEvents: false, leaseSoon: false, atTurnEnd: false }
}
