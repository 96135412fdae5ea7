/**
 * Typed calls between threads. Each side of a thread boundary is an RpcEndpoint: it calls the
 * other side (each call has an id and waits for its answer), answers the other side's calls
 * with its handlers, and sends one-way notes. A thrown error crosses as a plain object (name,
 * message and a few chosen fields) and is made an Error again on the calling side. Buffers
 * named in a transfer list move to the other thread instead of being copied.
 *
 * Everything one side sends travels as an array of envelopes, so several calls, answers and
 * notes can share one message: each message costs both threads a wake-up. Notes wait for the
 * next message (or the end of the turn), so a note always arrives before an answer sent after it.
 * The side that owns the thread is a WorkerRpc (thread.ts); the thread's own side comes from
 * `parentEndpoint`.
 */

/** A function that may be called across threads (arguments and result survive structured clone). */
type Fn = (...args: never[]) => unknown

/** What one side of a boundary offers: the calls it answers and the notes it sends. */
export interface ThreadSide {
  calls: object
  notes: object
}

export type CallName<S extends ThreadSide> = Extract<keyof S['calls'], string>
export type ArgsOf<S extends ThreadSide, K extends CallName<S>> = S['calls'][K] extends (...args: infer A) => unknown ? A : never
export type ResultOf<S extends ThreadSide, K extends CallName<S>> = S['calls'][K] extends (...args: never[]) => infer R ? Awaited<R> : never
export type NoteName<S extends ThreadSide> = Extract<keyof S['notes'], string>
export type NoteOf<S extends ThreadSide, K extends NoteName<S>> = S['notes'][K]
/** One of a side's notes: its name and its value. */
export type Note<S extends ThreadSide> = { [K in NoteName<S>]: { name: K; value: NoteOf<S, K> } }[NoteName<S>]

/** An error as it crosses threads: name, message and the fields the answering side carries. */
export interface PlainError {
  name: string
  message: string
  [field: string]: string | number | boolean
}

/** A handler's result with the buffers that move with it (see `moving`). */
export class Moving<T> {
  constructor(
    readonly value: T,
    readonly transfer: readonly ArrayBuffer[]
  ) {}
}

/** Answers `value` and moves `transfer` (buffers `value` holds) to the caller instead of copying them. */
export function moving<T>(value: T, transfer: readonly ArrayBuffer[]): Moving<T> {
  return new Moving(value, transfer)
}

/** The handlers one side runs for the other's calls; each may answer at once or with a promise. */
export type Handlers<S extends ThreadSide> = {
  [K in CallName<S>]: (...args: ArgsOf<S, K>) => ResultOf<S, K> | Moving<ResultOf<S, K>> | Promise<ResultOf<S, K> | Moving<ResultOf<S, K>>>
}

type Envelope =
  | { t: 'call'; id: number; name: string; args: unknown[] }
  | { t: 'ok'; id: number; value: unknown }
  | { t: 'err'; id: number; error: PlainError }
  | { t: 'note'; name: string; value: unknown }

/** The part of a Worker or MessagePort an endpoint uses. */
export interface Port {
  postMessage(message: unknown, transfer?: readonly ArrayBuffer[]): void
  on(event: 'message', listener: (message: Envelope[]) => void): unknown
}

/** `error` as a plain object: name, message, and those of `fields` that hold a string, number or boolean. */
export function toPlainError(error: unknown, fields: readonly string[] = ['code']): PlainError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) }
  const plain: PlainError = { name: error.name, message: error.message }
  for (const field of fields) {
    const value = (error as unknown as Record<string, unknown>)[field]
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') plain[field] = value
  }
  return plain
}

const ERROR_CLASSES: Record<string, new (message: string) => Error> = { RangeError, TypeError, SyntaxError }

/** An Error of the plain one's class when it is a built-in one (else Error), with its name and fields. */
export function reviveError(plain: PlainError): Error {
  const { name, message, ...fields } = plain
  const error = new (ERROR_CLASSES[name] ?? Error)(message)
  if (error.name !== name) error.name = name
  return Object.assign(error, fields)
}

export interface EndpointOptions<Local extends ThreadSide, Remote extends ThreadSide> {
  /** Runs the other side's calls. A call without a handler fails. */
  handlers?: Partial<Handlers<Local>>
  /** Hears the other side's notes, in the order sent. */
  onNote?: (note: Note<Remote>) => void
  /** Fields of a thrown error carried to the caller besides name and message. Default: `code`. */
  errorFields?: readonly string[]
  /** Makes the caller's Error of a carried one. Default: `reviveError`. */
  reviveError?: (plain: PlainError) => Error
  /**
   * Calls made in one turn of the event loop go as one message, sent at the end of the turn, as
   * do answers given later than the message that asked. Without it each goes at once (answers
   * given while a message is handled always share one message).
   */
  coalesce?: boolean
}

interface Waiting {
  resolve(value: unknown): void
  reject(error: unknown): void
}

interface Outgoing {
  envelope: Envelope
  transfer: readonly ArrayBuffer[]
}

export class RpcEndpoint<Local extends ThreadSide, Remote extends ThreadSide> {
  private readonly waiting = new Map<number, Waiting>()
  private nextId = 1
  private outbox: Outgoing[] = []
  private flushScheduled = false
  /** True while a message is handled: answers given meanwhile go together once it is done. */
  private receiving = false
  /** Set once the other side is gone (or this side closed): calls fail with it. */
  protected failure: Error | null = null

  constructor(
    protected readonly port: Port,
    private readonly options: EndpointOptions<Local, Remote> = {}
  ) {
    port.on('message', (message) => this.receive(message))
  }

  /** Calls unanswered. */
  get pending(): number {
    return this.waiting.size
  }

  /** Calls `name` on the other side; `transfer` lists buffers in `args` that move instead of being copied. */
  call<K extends CallName<Remote>>(name: K, args: ArgsOf<Remote, K>, transfer: readonly ArrayBuffer[] = []): Promise<ResultOf<Remote, K>> {
    if (this.failure) return Promise.reject(this.failure)
    const id = this.nextId++
    const answer = new Promise<ResultOf<Remote, K>>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject })
    })
    if (this.waiting.size === 1) this.busyChanged(true)
    this.send({ t: 'call', id, name, args }, transfer, !this.options.coalesce)
    return answer
  }

  /** Sends a note; it goes with the next message, or alone at the end of this turn. */
  notify<K extends NoteName<Local>>(name: K, value: NoteOf<Local, K>): void {
    if (this.failure) return
    this.send({ t: 'note', name, value }, [], false)
  }

  /** Fails every unanswered call, and every later one, with `error` (the other side is gone). */
  fail(error: Error): void {
    this.failure ??= error
    this.outbox = []
    const waiting = [...this.waiting.values()]
    this.waiting.clear()
    if (waiting.length > 0) this.busyChanged(false)
    for (const w of waiting) w.reject(this.failure)
  }

  /** Called when the first call starts waiting (true) and when the last is answered (false). */
  protected busyChanged(_busy: boolean): void {}

  private send(envelope: Envelope, transfer: readonly ArrayBuffer[], now: boolean): void {
    this.outbox.push({ envelope, transfer })
    // While a message is handled, what it makes goes together once it is done (receive).
    if (this.receiving) return
    if (now) this.flush()
    else if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(() => {
        this.flushScheduled = false
        this.flush()
      })
    }
  }

  /** Sends what waits in the outbox as one message. */
  protected flush(): void {
    if (this.outbox.length === 0) return
    const batch = this.outbox
    this.outbox = []
    const transfer = new Set<ArrayBuffer>()
    for (const item of batch) for (const buffer of item.transfer) transfer.add(buffer)
    try {
      this.port.postMessage(batch.map((item) => item.envelope), [...transfer])
    } catch {
      // Something in it cannot be cloned (a function, a class with private state): each goes
      // alone, so that only what cannot be sent fails. Nothing was moved by the failed attempt.
      for (const item of batch) {
        try {
          this.port.postMessage([item.envelope], item.transfer)
        } catch (error) {
          this.undeliverable(item.envelope, error)
        }
      }
    }
  }

  private undeliverable(envelope: Envelope, error: unknown): void {
    if (envelope.t === 'call') this.settle(envelope.id, (w) => w.reject(error))
    else if (envelope.t === 'ok') this.send({ t: 'err', id: envelope.id, error: toPlainError(error, this.options.errorFields) }, [], true)
    else process.emitWarning(`a ${envelope.t === 'note' ? `note (${envelope.name})` : 'error answer'} could not be sent to the other thread: ${String(error)}`)
  }

  private settle(id: number, how: (waiting: Waiting) => void): void {
    const waiting = this.waiting.get(id)
    if (!waiting) return
    this.waiting.delete(id)
    if (this.waiting.size === 0) this.busyChanged(false)
    how(waiting)
  }

  private receive(message: Envelope[]): void {
    this.receiving = true
    try {
      for (const envelope of message) this.dispatch(envelope)
    } finally {
      this.receiving = false
    }
    this.flush()
  }

  private dispatch(envelope: Envelope): void {
    switch (envelope.t) {
      case 'ok':
        return this.settle(envelope.id, (w) => w.resolve(envelope.value))
      case 'err': {
        const error = (this.options.reviveError ?? reviveError)(envelope.error)
        return this.settle(envelope.id, (w) => w.reject(error))
      }
      case 'note':
        return this.options.onNote?.({ name: envelope.name, value: envelope.value } as Note<Remote>)
      case 'call':
        return this.answer(envelope.id, envelope.name, envelope.args)
    }
  }

  private answer(id: number, name: string, args: unknown[]): void {
    const handler = (this.options.handlers as Record<string, Fn | undefined> | undefined)?.[name]
    const ok = (result: unknown) => {
      if (result instanceof Moving) this.send({ t: 'ok', id, value: result.value }, result.transfer, !this.options.coalesce)
      else this.send({ t: 'ok', id, value: result }, [], !this.options.coalesce)
    }
    const failed = (error: unknown) => this.send({ t: 'err', id, error: toPlainError(error, this.options.errorFields) }, [], !this.options.coalesce)
    let result: unknown
    try {
      if (!handler) throw new Error(`no handler for the call ${name}`)
      result = (handler as (...a: unknown[]) => unknown)(...args)
    } catch (error) {
      failed(error)
      return
    }
    if (isThenable(result)) result.then(ok, failed)
    else ok(result)
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}
