import { reviveError } from '../worker-rpc'
import type { Settlement } from './worker-protocol'

interface Waiter {
  resolve(value: unknown): void
  reject(error: unknown): void
}

/**
 * Calls made in one turn of the event loop, sent to the engine's thread as one call. `post`
 * answers one settlement per call, or nothing when every call succeeds alike.
 */
export class TurnBatch<Item, Result> {
  private items: Item[] = []
  private waiters: Waiter[] = []
  private inFlight = 0

  constructor(
    private readonly post: (items: Item[]) => Promise<Settlement[] | void>,
    /**
     * Calls unanswered at once; calls made meanwhile wait and go together in the next, so
     * under load each message carries many calls (each one costs both threads about as much as
     * a small call's own work).
     */
    private readonly maxInFlight = Infinity
  ) {}

  add(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      if (this.items.length === 0 && this.inFlight < this.maxInFlight) setImmediate(() => this.send())
      this.items.push(item)
      this.waiters.push({ resolve: resolve as (value: unknown) => void, reject })
    })
  }

  /** Sends the calls waiting, unless maxInFlight are unanswered (`force`: send anyway). */
  send(force = false): void {
    if (this.items.length === 0 || (!force && this.inFlight >= this.maxInFlight)) return
    const items = this.items
    const waiters = this.waiters
    this.items = []
    this.waiters = []
    this.inFlight++
    const answered = () => {
      this.inFlight--
      this.send()
    }
    this.post(items).then(
      (settlements) => {
        answered()
        waiters.forEach((w, k) => {
          const r = settlements?.[k]
          if (!r || r.ok) w.resolve(r?.value)
          else w.reject(reviveError(r.error ?? { name: 'Error', message: 'store worker failed' }))
        })
      },
      (error: unknown) => {
        answered()
        waiters.forEach((w) => w.reject(error))
      }
    )
  }
}
