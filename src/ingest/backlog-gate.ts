/**
 * Backpressure: refuses new events (429 + Retry-After) while the backlog of unfinished
 * events is over its bound. The store is asked at most once per `refreshMs`; between
 * refreshes the events accepted since are added to the last answer.
 */
export class BacklogGate {
  private backlog = 0
  private acceptedSinceRefresh = 0
  private refreshedAt = Number.NEGATIVE_INFINITY
  private refreshing: Promise<void> | undefined

  constructor(
    private readonly readBacklog: () => Promise<number>,
    private readonly maxBacklog: number,
    private readonly refreshMs: number,
    private readonly onError: (err: unknown) => void = () => {}
  ) {}

  /**
   * True when new events must be refused. Waits for the store only the very first time, and
   * before refusing on a stale count (a refusal should rest on a fresh one).
   */
  async isOver(): Promise<boolean> {
    if (Date.now() - this.refreshedAt >= this.refreshMs) this.refreshing ??= this.refresh()
    if (this.refreshing && (this.refreshedAt === Number.NEGATIVE_INFINITY || this.over())) await this.refreshing
    return this.over()
  }

  private over(): boolean {
    return this.backlog + this.acceptedSinceRefresh > this.maxBacklog
  }

  /** Counts events accepted since the last refresh. */
  accepted(count: number): void {
    this.acceptedSinceRefresh += count
  }

  private async refresh(): Promise<void> {
    try {
      const backlog = await this.readBacklog()
      this.backlog = backlog
      this.acceptedSinceRefresh = 0
    } catch (err) {
      // Keep the last known backlog; a failing store fails enqueue, which answers 503.
      this.onError(err)
    } finally {
      this.refreshedAt = Date.now()
      this.refreshing = undefined
    }
  }
}
