/**
 * Group-commits outcomes: every `complete` / `skip` / `retryLater` / `deadLetter` issued while a
 * write is in progress goes into the next batch, one store call per verb. Each caller's promise
 * resolves once its own item is committed.
 */
import type { CompleteItem, DeadLetterItem, RetryItem, SkipItem, Store } from '../store/types'
import type { DeliveryObserver } from './observer'

/** How long the first outcome of a batch waits for others to join it. */
export const BATCH_WINDOW_MS = 2

type Verb = 'complete' | 'skip' | 'retryLater' | 'deadLetter'
interface Pending<T> {
  item: T
  resolve: () => void
  reject: (err: unknown) => void
}

export class OutcomeWriter {
  private queues: { complete: Pending<CompleteItem>[]; skip: Pending<SkipItem>[]; retryLater: Pending<RetryItem>[]; deadLetter: Pending<DeadLetterItem>[] } =
    { complete: [], skip: [], retryLater: [], deadLetter: [] }
  private flushing: Promise<void> | null = null

  constructor(private readonly store: Store, private readonly observer: DeliveryObserver) {}

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
    while (this.flushing) await this.flushing
  }

  private push<T>(verb: Verb, item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      ;(this.queues[verb] as Pending<T>[]).push({ item, resolve, reject })
      if (!this.flushing) this.flushing = this.flush()
    })
  }

  private async flush(): Promise<void> {
    // Let the outcomes finishing in the next moment join the batch: each store transaction is an
    // fsync that stalls the event loop, so fewer, larger ones deliver more per second.
    await new Promise((resolve) => setTimeout(resolve, BATCH_WINDOW_MS))
    while (true) {
      const batch = this.queues
      this.queues = { complete: [], skip: [], retryLater: [], deadLetter: [] }
      const verbs = (Object.keys(batch) as Verb[]).filter((v) => batch[v].length > 0)
      if (verbs.length === 0) break
      await Promise.all(verbs.map((verb) => this.write(verb, batch[verb] as Pending<unknown>[])))
    }
    this.flushing = null
  }

  private async write(verb: Verb, pending: Pending<unknown>[]): Promise<void> {
    const started = process.hrtime.bigint()
    try {
      await (this.store[verb] as (items: unknown[]) => Promise<void>).call(this.store, pending.map((p) => p.item))
      for (const p of pending) p.resolve()
    } catch (err) {
      for (const p of pending) p.reject(err)
    } finally {
      this.observer.storeLatency?.(verb, Number(process.hrtime.bigint() - started) / 1e9)
    }
  }
}
