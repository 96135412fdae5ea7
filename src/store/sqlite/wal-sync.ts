import fs from 'node:fs'

/**
 * Syncs allowed at once. A commit made while one sync runs need not wait for it to finish before
 * its own starts (that would cost it up to two sync times). Four measured a little better than
 * two for single-event requests on the development machine; eight, no better.
 */
export const MAX_IN_FLIGHT = 4

interface Waiter {
  resolve(): void
  reject(error: unknown): void
}

/**
 * Durability for commits made with `synchronous=NORMAL`: SQLite writes a commit's WAL frames
 * without syncing them, and `afterCommit` resolves once an fdatasync of the WAL file that
 * started after that commit has finished. That is what `synchronous=FULL` does at every
 * commit, but the sync runs on libuv's thread pool: the engine's thread writes the next group
 * while the disk flushes the previous one, and one sync covers every commit made before it
 * started (up to MAX_IN_FLIGHT run at once). A power loss can undo only commits whose `afterCommit` had not resolved, and WAL
 * recovery drops them whole.
 */
export class WalSync {
  private fd: number | null = null
  /** Syncs under way (at most MAX_IN_FLIGHT). */
  private running = 0
  private waiting: Waiter[] = []
  private idle: Array<() => void> = []

  /** `walPath`: the database's `-wal` file; null for an in-memory database (nothing to sync). */
  constructor(private readonly walPath: string | null) {}

  /** Resolves once everything written to the WAL before this call is on disk. */
  afterCommit(): Promise<void> {
    if (this.walPath === null) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject })
      if (this.running < MAX_IN_FLIGHT) this.start()
    })
  }

  private start(): void {
    const batch = this.waiting.splice(0)
    let fd: number
    try {
      fd = this.fd ??= fs.openSync(this.walPath!, 'r')
    } catch (error) {
      // No WAL file yet: no commit has written a frame, so there is nothing to make durable.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') for (const w of batch) w.resolve()
      else for (const w of batch) w.reject(error)
      this.finish()
      return
    }
    this.running++
    fs.fdatasync(fd, (error) => {
      this.running--
      for (const w of batch) error ? w.reject(error) : w.resolve()
      if (this.waiting.length > 0 && this.running < MAX_IN_FLIGHT) this.start()
      else this.finish()
    })
  }

  private finish(): void {
    if (this.running === 0 && this.waiting.length === 0) for (const done of this.idle.splice(0)) done()
  }

  /** Waits for the syncs asked for, then closes the file. */
  async close(): Promise<void> {
    if (this.running > 0 || this.waiting.length > 0) await new Promise<void>((resolve) => this.idle.push(resolve))
    if (this.fd !== null) fs.closeSync(this.fd)
    this.fd = null
  }
}
