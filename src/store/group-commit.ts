import type { EnqueueResult, NewEvent } from './types'

interface Waiting {
  events: NewEvent[]
  resolve(results: EnqueueResult[]): void
  reject(error: unknown): void
}

/** Most events one group transaction takes; more wait for the next one. */
const MAX_GROUP_EVENTS = 10_000

/**
 * Group commit for `enqueue`: calls made in the same tick, or while a commit is running, share
 * the next transaction; each promise settles only after that transaction has committed. One
 * transaction at a time per store, so ids follow the order of the calls. When a shared
 * transaction fails, each call is retried alone so one bad call cannot fail its neighbours.
 */
export class GroupCommit {
  private queue: Waiting[] = []
  private running = false
  private scheduled = false
  private idle: Array<() => void> = []

  constructor(private readonly commit: (events: NewEvent[]) => Promise<EnqueueResult[]>) {}

  submit(events: NewEvent[]): Promise<EnqueueResult[]> {
    if (events.length === 0) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject })
      this.schedule()
    })
  }

  /** Resolves once every submitted call has settled. */
  drain(): Promise<void> {
    if (!this.running && !this.scheduled && this.queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  private schedule(): void {
    if (this.scheduled || this.running) return
    this.scheduled = true
    setImmediate(() => void this.flush())
  }

  private take(): Waiting[] {
    let total = 0
    let n = 0
    while (n < this.queue.length && (n === 0 || total + this.queue[n].events.length <= MAX_GROUP_EVENTS)) {
      total += this.queue[n].events.length
      n++
    }
    return this.queue.splice(0, n)
  }

  private async flush(): Promise<void> {
    this.scheduled = false
    this.running = true
    const group = this.take()
    try {
      const all = group.length === 1 ? group[0].events : group.flatMap((w) => w.events)
      const results = await this.commit(all)
      let offset = 0
      for (const w of group) {
        w.resolve(results.slice(offset, offset + w.events.length))
        offset += w.events.length
      }
    } catch (error) {
      if (group.length === 1) group[0].reject(error)
      else {
        for (const w of group) {
          try {
            w.resolve(await this.commit(w.events))
          } catch (own) {
            w.reject(own)
          }
        }
      }
    } finally {
      this.running = false
      if (this.queue.length > 0) this.schedule()
      else for (const done of this.idle.splice(0)) done()
    }
  }
}
