/**
 * Batches for subscriptions whose action has `performBatch` and whose mapping turns batching on
 * (destination-check.ts): events the scheduler starts for such a subscription wait here, up to
 * BATCH_WINDOW_MS or until the batch is full, then go out in one `runBatch` (actions-core's
 * `executeBatch`, through the seam). Each event gets its own result back, from actions-core's
 * multistatus: a batch that failed as a whole fails every event in it (each is retried), an
 * event the destination refused fails alone, and the events it accepted are recorded delivered,
 * so a retry never sends them again.
 *
 * Per-key order needs nothing here: the scheduler starts only the head of each ordering key and
 * holds the key until that event is recorded (pipeline.ts), so a batch holds at most one event
 * per key. A batch is therefore at most as large as the destination's concurrency limit: raise
 * `delivery.maxConcurrency` / `initialConcurrency` of the destination for larger batches.
 */
import type { RelayDestination } from './actions-core'
import type { SubscriptionResult } from './attempt'
import { captureHooks, finishExchanges, type Exchange } from './capture'
import type { BatchSetting } from './destination-check'
import type { ActiveSubscription } from './subscriptions'
import type { DestinationSettings } from './types'

/** How long the first event of a batch waits for others (ms): short beside a request, long enough to gather the events one lease starts. */
export const BATCH_WINDOW_MS = 20

interface Waiting {
  event: Record<string, unknown>
  resolve: (result: SubscriptionResult) => void
}

interface Open {
  sub: ActiveSubscription
  settings: DestinationSettings
  waiting: Waiting[]
  timer: NodeJS.Timeout
}

/** An event that failed inside a batch the destination accepted (a multistatus entry other than 2xx). */
export class BatchItemError extends Error {
  override name = 'BatchItemError'
  constructor(message: string, readonly status: number) {
    super(message)
  }
}

export class Batcher {
  private readonly open = new Map<string, Open>()

  constructor(
    private readonly destination: RelayDestination,
    private readonly batching: ReadonlyMap<string, BatchSetting>,
    private readonly windowMs: number = BATCH_WINDOW_MS
  ) {}

  batched(sub: ActiveSubscription): boolean {
    return this.batching.has(sub.name)
  }

  /** Adds one event to the subscription's open batch; resolves with this event's own result. */
  run(sub: ActiveSubscription, event: Record<string, unknown>, settings: DestinationSettings): Promise<SubscriptionResult> {
    return new Promise((resolve) => {
      let batch = this.open.get(sub.name)
      if (!batch) {
        batch = { sub, settings, waiting: [], timer: setTimeout(() => this.flush(sub.name), this.windowMs) }
        this.open.set(sub.name, batch)
      }
      batch.waiting.push({ event, resolve })
      if (batch.waiting.length >= (this.batching.get(sub.name)?.size ?? 1)) this.flush(sub.name)
    })
  }

  private flush(name: string): void {
    const batch = this.open.get(name)
    if (!batch) return
    this.open.delete(name)
    clearTimeout(batch.timer)
    void this.send(batch)
  }

  private async send({ sub, settings, waiting }: Open): Promise<void> {
    const exchanges: Exchange[] = []
    const result = (error?: unknown, own: Exchange[] = exchanges): SubscriptionResult => ({
      subscription: sub.name,
      action: sub.partnerAction,
      exchanges: own,
      ...(error !== undefined ? { error } : {})
    })
    try {
      const statuses = await this.destination.runBatch(
        sub.partnerAction,
        waiting.map((w) => w.event),
        sub.mapping,
        settings,
        captureHooks({ exchanges, dryRun: false })
      )
      finishExchanges(exchanges)
      waiting.forEach((w, i) => {
        const item = statuses[i]
        if (item.status >= 200 && item.status < 300) return w.resolve(result())
        // This event's answer is its multistatus entry, whatever the batch request's status was.
        const own = exchanges.map((x) => ({ ...x, response: { status: item.status, headers: x.response?.headers ?? {}, body: item.message ?? null } }))
        w.resolve(result(new BatchItemError(item.message ?? `status ${item.status}`, item.status), own))
      })
    } catch (error) {
      finishExchanges(exchanges)
      for (const w of waiting) w.resolve(result(error))
    }
  }
}
