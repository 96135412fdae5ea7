/**
 * Per-source rate limits (`sources[].maxEventsPerSecond`, `sources[].burstEvents`): one token
 * bucket per source, counting events, not requests, so a batch of 100 costs what 100 single
 * events cost. The bucket holds `burstEvents` tokens (default: one second's worth) and refills
 * at the rate; a request takes one token per event, or is refused whole (429 + Retry-After,
 * nothing of it stored) when the bucket holds too few.
 *
 * A request larger than the burst is accepted once the bucket is full, and leaves it in debt:
 * the source then waits until the debt is paid back at its rate. Its average stays at the
 * limit, and the request is not refused forever, as it would be if it had to fit in the burst
 * (SDKs batch by size and time, not by the relay's burst, and retry a 429 until they drop it).
 */
import { IngestError } from './errors'

export interface RateLimit {
  /** Events per second, averaged. */
  maxEventsPerSecond: number
  /** Events accepted at once above the rate; default one second's worth (at least 1). */
  burstEvents?: number
}

/** One second's worth of events, at least one: the burst of a source that sets none. */
export function defaultBurst(maxEventsPerSecond: number): number {
  return Math.max(1, Math.ceil(maxEventsPerSecond))
}

class Bucket {
  private tokens: number
  private updatedAt: number

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number
  ) {
    this.tokens = burst
    this.updatedAt = now
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.rate)
    this.updatedAt = now
  }

  /** Takes `count` tokens and returns 0, or returns the seconds until it could. */
  take(count: number, now: number): number {
    this.refill(now)
    const needed = Math.min(count, this.burst)
    if (this.tokens >= needed) {
      this.tokens -= count
      return 0
    }
    return (needed - this.tokens) / this.rate
  }

  /** Gives back tokens taken by a request that was not stored after all. */
  giveBack(count: number, now: number): void {
    this.refill(now)
    this.tokens = Math.min(this.burst, this.tokens + count)
  }
}

export class SourceRateLimits {
  private readonly buckets = new Map<string, Bucket>()

  /** `limits`: by source name; a source without an entry is not limited. `now`: ms, monotonic. */
  constructor(
    limits: ReadonlyArray<{ name: string } & Partial<RateLimit>>,
    private readonly now: () => number = () => performance.now()
  ) {
    const start = this.now()
    for (const { name, maxEventsPerSecond: rate, burstEvents } of limits) {
      if (rate === undefined || this.buckets.has(name)) continue
      if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`source "${name}": maxEventsPerSecond must be a number above 0, got ${rate}`)
      const burst = burstEvents ?? defaultBurst(rate)
      if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`source "${name}": burstEvents must be a whole number >= 1, got ${burst}`)
      this.buckets.set(name, new Bucket(rate, burst, start))
    }
  }

  /** Takes `count` events from `source`'s allowance, or throws the 429 that refuses the request. */
  take(source: string, count: number): void {
    const bucket = this.buckets.get(source)
    if (bucket === undefined || count === 0) return
    const waitSeconds = bucket.take(count, this.now())
    if (waitSeconds === 0) return
    const retryAfter = Math.max(1, Math.ceil(waitSeconds))
    const size = count > bucket.burst ? `, more than its burst of ${bucket.burst} (sources[].burstEvents): such a request waits until the whole burst is free` : ''
    throw new IngestError(
      429,
      `source "${source}" is over its rate limit of ${bucket.rate} events/s (sources[].maxEventsPerSecond): ` +
        `none of this request's ${count} events were stored${size}; retry after ${retryAfter} s`,
      retryAfter
    )
  }

  /** Gives back what `take` took for a request that was not stored (the store failed). */
  giveBack(source: string, count: number): void {
    this.buckets.get(source)?.giveBack(count, this.now())
  }
}
