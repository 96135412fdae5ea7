/**
 * Parse threads: large requests are parsed and checked off the event loop, so the thread that
 * reads requests keeps reading while another core does the per-event work. The thread answers
 * the request ready for `store.admit` (ParseOutput: as an opaque batch the store normalises when
 * it moves it into its queue, opaque.ts, or as serialised events), or the refusal: status and
 * message, exactly as on the request thread. A thread that dies fails only its own requests (503, retry) and is replaced.
 */
import { movableBuffers, threadEntry, WorkerRpc, type OpaqueBatch, type PlainError, type SerialisedEvents } from '../store'
import { IngestError } from './errors'
import type { EventLimits, Route } from './events'
import type { Repairs } from './repairs'

export interface ParseRequest {
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

/**
 * A parse thread answers `parse`; a refusal is thrown as the IngestError the request thread
 * would throw, and crosses with its status (`statusCode`). Requests read in one turn of the
 * request thread's event loop travel to a thread as one message, and the thread answers them in
 * one message (the RPC's `coalesce`): under load each message carries several requests, and
 * each message costs both threads a wake-up (on a virtual machine, tens of microseconds).
 */
/** A parsed request: ready for the store, with what its normalisation repaired (counted for /metrics). */
export interface Parsed {
  batch: OpaqueBatch | SerialisedEvents
  repairs: Repairs
  /** The userIds the request's `delete` events ask to delete (not in `batch`). */
  deletions: string[]
}

export interface ParseThreadSide {
  calls: { parse(request: ParseRequest): Parsed }
  notes: Record<never, never>
}

/** The request thread answers nothing and sends no notes. */
export interface RequestThreadSide {
  calls: Record<never, never>
  notes: Record<never, never>
}

/** The fields of an IngestError that cross back from a parse thread. */
export const PARSE_ERROR_FIELDS = ['statusCode'] as const

const THREAD_DIED = 'the parse thread stopped; retry later'
const threadDied = () => new IngestError(503, THREAD_DIED, 1)

/** A refusal becomes the IngestError the request thread would throw; any other failure a plain Error (500). */
function reviveParseError(plain: PlainError): Error {
  const status = plain.statusCode
  return plain.name === 'IngestError' && typeof status === 'number'
    ? new IngestError(status as IngestError['statusCode'], plain.message)
    : new Error(plain.message)
}

class ParseThread {
  private rpc: WorkerRpc<RequestThreadSide, ParseThreadSide>
  private closing = false

  constructor(private readonly setup: ParseSetup) {
    this.rpc = this.spawn()
  }

  get load(): number {
    return this.rpc.pending
  }

  private spawn(): WorkerRpc<RequestThreadSide, ParseThreadSide> {
    const rpc: WorkerRpc<RequestThreadSide, ParseThreadSide> = new WorkerRpc(threadEntry(__filename, __dirname, 'parse-thread-entry'), {
      name: 'parse thread',
      workerData: this.setup,
      coalesce: true,
      reviveError: reviveParseError,
      // Requests in flight on a thread that dies fail: the sender retries (503).
      deathError: threadDied,
      closedError: threadDied,
      onExit: () => {
        if (!this.closing && this.rpc === rpc) this.rpc = this.spawn()
      }
    })
    return rpc
  }

  parse(request: ParseRequest): Promise<Parsed> {
    // A body that owns its whole buffer moves to the thread instead of being copied.
    return this.rpc.call('parse', [request], movableBuffers([request.raw]))
  }

  async close(): Promise<void> {
    this.closing = true
    await this.rpc.terminate()
  }
}

export class ParseThreads {
  private readonly threads: ParseThread[]

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
    return thread.parse({ route, raw, source, receivedAtMs: receivedAt.getTime() })
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()))
  }
}
