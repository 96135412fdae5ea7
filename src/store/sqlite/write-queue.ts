import type Database from 'better-sqlite3'
import type { WalSync } from './wal-sync'

interface Op {
  run: () => unknown
  resolve(value: unknown): void
  reject(error: unknown): void
  enqueue: boolean
  durable: boolean
  outside: boolean
}

export interface WriteOptions {
  /** Counts the transaction in `enqueueTransactions`. */
  enqueue?: boolean
  /**
   * False for a write that loses nothing if a power cut undoes it (moving admitted events from
   * the inbox: the rows stay until the move is on disk): it settles at its commit, without
   * waiting for the WAL sync. WAL keeps it atomic and in order, and the next sync covers it.
   */
  durable?: boolean
  /**
   * Runs alone and outside any transaction, between two group transactions (what VACUUM and a
   * truncating WAL checkpoint need). Settles when it returns.
   */
  outside?: boolean
}

/**
 * Group commit for every write verb: operations submitted in the same tick share one
 * IMMEDIATE transaction, each inside its own savepoint so a failing operation rolls back
 * alone. Every promise settles only after the shared transaction has committed and, for
 * durable operations, after the WAL sync that followed it (wal-sync.ts) has finished.
 */
export class WriteQueue {
  private queue: Op[] = []
  private scheduled = false
  private idle: Array<() => void> = []
  /** Committed groups whose durable operations wait for their WAL sync. */
  private syncing = 0
  /** Committed transactions that held at least one enqueue. */
  enqueueTransactions = 0

  private readonly inSavepoint: (op: () => unknown) => unknown

  constructor(
    private readonly db: Database.Database,
    /** Called inside the group transaction before the operations, and after them (before COMMIT). */
    private readonly hooks: { begin(): void; end(): void; committed?(): void },
    private readonly sync: WalSync
  ) {
    this.inSavepoint = db.transaction((op: () => unknown) => op())
  }

  submit<T>(run: () => T, { enqueue = false, durable = true, outside = false }: WriteOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (value: unknown) => void, reject, enqueue, durable, outside })
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.flush())
  }

  /** Resolves once every submitted operation has settled (syncs included). */
  drain(): Promise<void> {
    if (!this.scheduled && this.syncing === 0) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  private flush(): void {
    this.scheduled = false
    if (this.queue[0]?.outside) {
      const op = this.queue.shift()!
      try {
        op.resolve(op.run())
      } catch (error) {
        op.reject(error)
      }
      if (this.queue.length > 0) this.schedule()
      this.finish()
      return
    }
    // The group ends before the next operation that must run outside it.
    const cut = this.queue.findIndex((op) => op.outside)
    const ops = this.queue.splice(0, cut < 0 ? this.queue.length : cut)
    if (this.queue.length > 0) this.schedule()
    const outcomes: Array<{ ok: boolean; value: unknown }> = []
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
    }
    if (ops.some((op, i) => op.enqueue && outcomes[i].ok)) this.enqueueTransactions++
    this.hooks.committed?.()
    const durable: number[] = []
    ops.forEach((op, i) => {
      if (!outcomes[i].ok) op.reject(outcomes[i].value)
      else if (op.durable) durable.push(i)
      else op.resolve(outcomes[i].value)
    })
    if (durable.length > 0) {
      this.syncing++
      this.sync.afterCommit().then(
        () => durable.forEach((i) => ops[i].resolve(outcomes[i].value)),
        (error: unknown) => durable.forEach((i) => ops[i].reject(error))
      ).finally(() => {
        this.syncing--
        this.finish()
      })
    }
    this.finish()
  }

  private finish(): void {
    if (!this.scheduled && this.syncing === 0) for (const done of this.idle.splice(0)) done()
  }
}
