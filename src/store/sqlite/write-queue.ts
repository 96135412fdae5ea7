import type Database from 'better-sqlite3'

interface Op {
  run: () => unknown
  resolve(value: unknown): void
  reject(error: unknown): void
  enqueue: boolean
  durable: boolean
}

export interface WriteOptions {
  /** Counts the transaction in `enqueueTransactions`. */
  enqueue?: boolean
  /**
   * False for a write that loses nothing if a power cut undoes it (moving admitted events from
   * the inbox: the rows stay until the move is on disk). A transaction holding only such writes
   * commits without waiting for fsync (synchronous=NORMAL); WAL still keeps it atomic and in
   * order, and the next durable commit's fsync covers it.
   */
  durable?: boolean
}

/**
 * Group commit for every write verb: operations submitted in the same tick share one
 * IMMEDIATE transaction (one fsync), each inside its own savepoint so a failing operation
 * rolls back alone. Every promise settles only after the shared transaction has committed.
 */
export class WriteQueue {
  private queue: Op[] = []
  private scheduled = false
  private idle: Array<() => void> = []
  /** Committed transactions that held at least one enqueue. */
  enqueueTransactions = 0

  private readonly inSavepoint: (op: () => unknown) => unknown

  constructor(
    private readonly db: Database.Database,
    /** Called inside the group transaction before the operations, and after them (before COMMIT). */
    private readonly hooks: { begin(): void; end(): void; committed?(): void }
  ) {
    this.inSavepoint = db.transaction((op: () => unknown) => op())
  }

  submit<T>(run: () => T, { enqueue = false, durable = true }: WriteOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (value: unknown) => void, reject, enqueue, durable })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  drain(): Promise<void> {
    if (!this.scheduled) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  private flush(): void {
    this.scheduled = false
    const ops = this.queue.splice(0)
    const outcomes: Array<{ ok: boolean; value: unknown }> = []
    const relaxed = ops.every((op) => !op.durable)
    if (relaxed) this.db.pragma('synchronous = NORMAL')
    try {
      this.db
        .transaction(() => {
          this.hooks.begin()
          for (const op of ops) {
            try {
              outcomes.push({ ok: true, value: this.inSavepoint(op.run) })
            } catch (error) {
              outcomes.push({ ok: false, value: error })
            }
          }
          this.hooks.end()
        })
        .immediate()
    } catch (error) {
      for (const op of ops) op.reject(error)
      this.finish()
      return
    } finally {
      if (relaxed) this.db.pragma('synchronous = FULL')
    }
    if (ops.some((op, i) => op.enqueue && outcomes[i].ok)) this.enqueueTransactions++
    this.hooks.committed?.()
    ops.forEach((op, i) => (outcomes[i].ok ? op.resolve(outcomes[i].value) : op.reject(outcomes[i].value)))
    this.finish()
  }

  private finish(): void {
    if (!this.scheduled) for (const done of this.idle.splice(0)) done()
  }
}
