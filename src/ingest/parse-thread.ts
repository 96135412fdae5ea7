/**
 * Parse threads: large requests are parsed and checked off the event loop, so the thread that
 * reads requests keeps reading while another core does the per-event work. The thread answers
 * the request ready for `store.admit` (ParseOutput: as an opaque batch the store normalises when
 * it moves it into its queue, opaque.ts, or as serialised events), or the refusal: status and
 * message, exactly as on the request thread. A thread that dies fails only its own requests (503, retry) and is replaced.
 */
import { Worker } from 'node:worker_threads'
import { movableBuffers, type OpaqueBatch, type SerialisedEvents } from '../store/serialised'
import { threadEntry } from '../store/thread-entry'
import { IngestError } from './errors'
import type { EventLimits, Route } from './events'
import type { Repairs } from './repairs'

export interface ParseRequest {
  id: number
  route: Route
  /** The body, after gunzip (moved to the thread when it owns its buffer, else copied; unusable here afterwards). */
  raw: Uint8Array
  source: string
  receivedAtMs: number
}

/**
 * What a thread hands back for the store: the request itself as an opaque batch, for a store that
 * expands it later off the request path (`store.keepsOpaqueBatches`), or its events normalised
 * and serialised, for a store that would otherwise expand it on the request thread.
 */
export type ParseOutput = 'opaque' | 'serialised'

export interface ParseSetup {
  limits: EventLimits
  output: ParseOutput
}

export type ParseReply =
  | { id: number; ok: true; batch: OpaqueBatch | SerialisedEvents; repairs: Repairs }
  | { id: number; ok: false; status: IngestError['statusCode'] | 500; message: string }

/**
 * Requests read in one turn of the request thread's event loop travel to a thread as one message,
 * and the thread answers them in one message: under load each message carries several requests,
 * and each message costs both threads a wake-up (on a virtual machine, tens of microseconds).
 */
export type ParseMessage = ParseRequest[]
export type ParseAnswer = ParseReply[]

/** A parsed request: ready for the store, with what its normalisation repairs (counted for /metrics). */
export interface Parsed {
  batch: OpaqueBatch | SerialisedEvents
  repairs: Repairs
}

interface Pending {
  resolve(parsed: Parsed): void
  reject(error: unknown): void
}

const THREAD_DIED = 'the parse thread stopped; retry later'

class ParseThread {
  private worker: Worker
  private readonly pending = new Map<number, Pending>()
  /** Requests made in this turn, sent together at its end. */
  private outbox: ParseRequest[] = []
  private closing = false

  constructor(private readonly setup: ParseSetup) {
    this.worker = this.spawn()
  }

  get load(): number {
    return this.pending.size
  }

  private spawn(): Worker {
    const entry = threadEntry(__filename, __dirname, 'parse-thread-entry')
    const worker = new Worker(entry.filename, { eval: entry.eval, workerData: this.setup })
    worker.on('message', (answer: ParseAnswer) => {
      for (const reply of answer) this.settle(reply)
    })
    worker.on('error', () => this.fail())
    worker.on('exit', () => {
      this.fail()
      if (!this.closing && this.worker === worker) this.worker = this.spawn()
    })
    worker.unref()
    return worker
  }

  private settle(reply: ParseReply): void {
    const waiting = this.pending.get(reply.id)
    if (!waiting) return
    this.pending.delete(reply.id)
    if (this.pending.size === 0) this.worker.unref()
    if (reply.ok) waiting.resolve({ batch: reply.batch, repairs: reply.repairs })
    else if (reply.status === 500) waiting.reject(new Error(reply.message))
    else waiting.reject(new IngestError(reply.status, reply.message))
  }

  /** Fails every request in flight on this thread: the sender retries (503). */
  private fail(): void {
    for (const waiting of this.pending.values()) waiting.reject(new IngestError(503, THREAD_DIED, 1))
    this.pending.clear()
  }

  parse(request: ParseRequest): Promise<Parsed> {
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject })
      if (this.pending.size === 1) this.worker.ref()
      if (this.outbox.length === 0) setImmediate(() => this.send())
      this.outbox.push(request)
    })
  }

  private send(): void {
    const message: ParseMessage = this.outbox
    this.outbox = []
    // Requests whose thread died meanwhile were failed (503) and are no longer pending.
    const live = message.filter((request) => this.pending.has(request.id))
    if (live.length === 0) return
    // A body that owns its whole buffer moves to the thread instead of being copied.
    this.worker.postMessage(live, movableBuffers(live.map((request) => request.raw)))
  }

  async close(): Promise<void> {
    this.closing = true
    await this.worker.terminate()
  }
}

export class ParseThreads {
  private readonly threads: ParseThread[]
  private nextId = 1

  constructor(count: number, limits: EventLimits, output: ParseOutput = 'opaque') {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`parse threads must be a positive integer, got ${count}`)
    const setup: ParseSetup = { limits: { maxEventBytes: limits.maxEventBytes, maxBatchEvents: limits.maxBatchEvents }, output }
    this.threads = Array.from({ length: count }, () => new ParseThread(setup))
  }

  /** The request ready for `store.admit` (see ParseOutput); rejects with the IngestError the request thread would throw. */
  parse(route: Route, raw: Uint8Array, source: string, receivedAt: Date): Promise<Parsed> {
    // The least busy thread (with one thread, that one).
    let thread = this.threads[0]!
    for (const t of this.threads) if (t.load < thread.load) thread = t
    return thread.parse({ id: this.nextId++, route, raw, source, receivedAtMs: receivedAt.getTime() })
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()))
  }
}
