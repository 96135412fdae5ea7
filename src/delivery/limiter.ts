/**
 * How many requests to CSB may be in flight, adapted to what CSB accepts (AIMD: additive
 * increase, multiplicative decrease), plus an optional fixed ceiling on requests per second.
 *
 * - Each success of a request during which every slot was taken adds 1/limit (about +1 per round of `limit`
 *   requests), up to `max`.
 * - A congestion signal (429, 5xx, timeout, connection error) multiplies the limit by
 *   DECREASE_FACTOR, down to `min`; only once per round: a request that started before the
 *   last decrease cannot cause another one, so a burst of failures is one signal, not fifty.
 * - `pauseUntil` holds every new request (CSB's Retry-After on a 429 applies to the whole client).
 */
export const DECREASE_FACTOR = 0.7

export interface LimiterSettings {
  minConcurrency: number
  maxConcurrency: number
  initialConcurrency: number
  adaptive: boolean
}

export interface Ticket {
  /** Decrease epoch when the request started. */
  readonly epoch: number
  /** Saturation count when the request started. */
  readonly saturation: number
  /** Pauses begun before the request started. */
  readonly pauses: number
}

export type Signal = 'ok' | 'congestion' | 'neutral'

export class AdaptiveLimiter {
  private limitValue: number
  private epoch = 0
  private active = 0
  private pausedUntil = 0
  private pauses = 0
  private slowStart = true
  /** Counts the times every slot was taken (the limit, not demand, was the bottleneck). */
  private saturation = 0
  private readonly min: number
  private readonly max: number

  constructor(
    private readonly settings: LimiterSettings,
    private readonly onChange: (limit: number) => void = () => {}
  ) {
    this.max = Math.max(1, settings.maxConcurrency)
    this.min = Math.min(this.max, Math.max(1, settings.minConcurrency))
    this.limitValue = settings.adaptive
      ? Math.min(this.max, Math.max(this.min, settings.initialConcurrency))
      : this.max
  }

  /** Requests allowed in flight now. */
  get limit(): number {
    return Math.floor(this.limitValue)
  }

  get inFlight(): number {
    return this.active
  }

  /** ms until new requests may start because of a pause (0 when not paused). */
  pausedFor(now: number = Date.now()): number {
    return Math.max(0, this.pausedUntil - now)
  }

  /** A slot, or null when `limit` requests are in flight or the limiter is paused. */
  tryAcquire(now: number = Date.now()): Ticket | null {
    if (now < this.pausedUntil) return null
    if (this.active >= this.limit) {
      this.saturation++
      return null
    }
    const ticket = { epoch: this.epoch, saturation: this.saturation, pauses: this.pauses }
    if (++this.active >= this.limit) this.saturation++
    return ticket
  }

  release(ticket: Ticket, signal: Signal): void {
    // Grow only when the limit was the bottleneck while this request ran.
    const busy = this.saturation > ticket.saturation
    this.active = Math.max(0, this.active - 1)
    if (!this.settings.adaptive) return
    const before = this.limit
    if (signal === 'ok' && busy) {
      this.limitValue = Math.min(this.max, this.limitValue + (this.slowStart ? 1 : 1 / this.limitValue))
    } else if (signal === 'congestion' && ticket.epoch === this.epoch) {
      this.slowStart = false
      this.limitValue = Math.max(this.min, this.limitValue * DECREASE_FACTOR)
      this.epoch++
    }
    if (this.limit !== before) this.onChange(this.limit)
  }

  /**
   * Holds new requests until `at` (CSB's Retry-After). Like a decrease, once per round: a
   * request that started before the current pause began cannot extend it.
   */
  pauseUntil(at: number, ticket?: Ticket): void {
    if (ticket && ticket.pauses !== this.pauses) return
    if (at <= this.pausedUntil) return
    this.pausedUntil = at
    this.pauses++
  }
}

/**
 * A burst holds 1/BURSTS_PER_SECOND of a second's tokens: enough that events leased together
 * start together instead of one per 1/rate s, few enough that CSB never sees much more than the
 * rate within any one second.
 */
const BURSTS_PER_SECOND = 10

/** A token bucket: at most `ratePerSecond` takes per second, bursts of up to a tenth of a second's worth. */
export class TokenBucket {
  private tokens: number
  private last: number
  private readonly burst: number

  constructor(private readonly ratePerSecond: number, now: number = Date.now()) {
    this.burst = Math.max(1, Math.ceil(ratePerSecond / BURSTS_PER_SECOND))
    this.tokens = this.burst
    this.last = now
  }

  /** Takes a token and returns 0, or returns the ms to wait until one is available. */
  take(now: number = Date.now()): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000)
    this.last = now
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 0
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond)
  }
}
