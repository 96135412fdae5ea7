/**
 * Group-commits outcomes: every `complete` / `skip` / `retryLater` / `deadLetter` issued within
 * BATCH_WINDOW_MS of the first one waiting goes into one batch, one store call per verb. Each
 * caller's promise resolves once its own item is committed.
 *
 * Identity links (`learn`) ride in the same batches: one `linkIdentities` call per batch, not one
 * per event, issued before the outcome calls of its batch. Delivery (deliver.ts) awaits an
 * event's links before it queues that event's outcome, so a link is committed before the outcome
 * of the event that taught it (the key's next event, leased after that outcome, finds it).
 */
import type { CompleteItem, DeadLetterItem, IdentityLink, RetryItem, SkipItem, Store } from '../store/types'
import type { DeliveryObserver } from './observer'

/**
 * How long the first outcome of a batch waits for others to join it (ms): short beside a request
 * to CSB (tens of ms), for the key it holds waits that long too; long enough, at hundreds of
 * events a second, to gather the outcomes of several answers into one store call.
 */
export const BATCH_WINDOW_MS = 2

type Verb = 'linkIdentities' | 'complete' | 'skip' | 'retryLater' | 'deadLetter'
interface Pending<T> {
  item: T
  resolve: () => void
  reject: (err: unknown) => void
}

export class OutcomeWriter {
  private queues = OutcomeWriter.empty()
  private timer: NodeJS.Timeout | null = null
  /** Batches sent and not yet answered. */
  private readonly writing = new Set<Promise<void>>()

  constructor(private readonly store: Store, private readonly observer: DeliveryObserver) {}

  private static empty(): {
    linkIdentities: Pending<IdentityLink[]>[]
    complete: Pending<CompleteItem>[]
    skip: Pending<SkipItem>[]
    retryLater: Pending<RetryItem>[]
    deadLetter: Pending<DeadLetterItem>[]
  } {
    // Key order is write order: links first.
    return { linkIdentities: [], complete: [], skip: [], retryLater: [], deadLetter: [] }
  }

  /** Writes identity links in the next batch; resolves once they are committed. */
  learn(links: IdentityLink[]): Promise<void> {
    return this.push('linkIdentities', links)
  }

  complete(item: CompleteItem): Promise<void> {
    return this.push('complete', item)
  }
  skip(item: SkipItem): Promise<void> {
    return this.push('skip', item)
  }
  retryLater(item: RetryItem): Promise<void> {
    return this.push('retryLater', item)
  }
  deadLetter(item: DeadLetterItem): Promise<void> {
    return this.push('deadLetter', item)
  }

  /** Resolves when nothing is queued or being written. */
  async drain(): Promise<void> {
    while (this.timer || this.writing.size > 0) {
      if (this.timer) await new Promise((resolve) => setTimeout(resolve, BATCH_WINDOW_MS))
      else await Promise.all(this.writing)
    }
  }

  private push<T>(verb: Verb, item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      ;(this.queues[verb] as Pending<T>[]).push({ item, resolve, reject })
      if (!this.timer) this.timer = setTimeout(() => this.flush(), BATCH_WINDOW_MS)
    })
  }

  /**
   * Sends what gathered in the window, without waiting for earlier batches to be committed: an
   * outcome that had to wait for the batch before it to come back would hold its delivery slot
   * for two store round trips. (The SQLite engine's worker puts batches that arrive while it
   * commits into one transaction anyway; PostgreSQL runs them on separate connections.)
   */
  private flush(): void {
    this.timer = null
    const batch = this.queues
    this.queues = OutcomeWriter.empty()
    const verbs = (Object.keys(batch) as Verb[]).filter((v) => batch[v].length > 0)
    const written = Promise.all(verbs.map((verb) => this.write(verb, batch[verb] as Pending<unknown>[]))).then(() => undefined)
    this.writing.add(written)
    void written.finally(() => this.writing.delete(written))
  }

  private async write(verb: Verb, pending: Pending<unknown>[]): Promise<void> {
    const started = process.hrtime.bigint()
    try {
      const items = verb === 'linkIdentities' ? pending.flatMap((p) => p.item as IdentityLink[]) : pending.map((p) => p.item)
      await (this.store[verb] as (items: unknown[]) => Promise<void>).call(this.store, items)
      for (const p of pending) p.resolve()
    } catch (err) {
      for (const p of pending) p.reject(err)
    } finally {
      this.observer.storeLatency?.(verb, Number(process.hrtime.bigint() - started) / 1e9)
    }
  }
}
