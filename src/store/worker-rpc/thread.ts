/**
 * Both ends of a worker thread as RPC endpoints (endpoint.ts): WorkerRpc starts and owns the
 * thread; `parentEndpoint` is the thread's side. The owner learns when the thread dies and
 * fails every call it has not answered, so no caller waits forever.
 */
import path from 'node:path'
import { parentPort, Worker } from 'node:worker_threads'
import { RpcEndpoint, type ArgsOf, type CallName, type EndpointOptions, type Port, type ThreadSide } from './endpoint'

/**
 * How to start a worker thread on `<dir>/<base>`: the compiled `.js` when the caller runs
 * compiled, else the `.ts` source through tsx (vitest, tsx), which a worker cannot load alone.
 * Pass the caller's `__filename` and `__dirname`.
 */
export function threadEntry(callerFile: string, dir: string, base: string): { filename: string; eval: boolean } {
  if (!callerFile.endsWith('.ts')) return { filename: path.join(dir, `${base}.js`), eval: false }
  const tsx = require.resolve('tsx/cjs')
  return { filename: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(path.join(dir, `${base}.ts`))})`, eval: true }
}

export interface WorkerRpcOptions<Local extends ThreadSide, Remote extends ThreadSide> extends EndpointOptions<Local, Remote> {
  /** Names the thread in errors: "<name> exited (code N)". */
  name: string
  workerData?: unknown
  /** What unanswered and later calls fail with once the thread has died of `cause`. Default: `cause`. */
  deathError?: (cause: Error) => Error
  /** What unanswered and later calls fail with once `close` or `terminate` has begun. Default: "<name> is closed". */
  closedError?: () => Error
  /** Keeps the process alive while a call waits for its answer. Default true. */
  refWhileBusy?: boolean
  /** Hears an exception the thread did not catch (it then exits). */
  onError?: (error: Error) => void
  /** Hears that the thread has exited, after its unanswered calls have failed. */
  onExit?: (code: number) => void
}

/** The owner's side of a worker thread. The thread does not keep the process alive unless a call waits (see refWhileBusy). */
export class WorkerRpc<Local extends ThreadSide, Remote extends ThreadSide> extends RpcEndpoint<Local, Remote> {
  readonly worker: Worker
  /** Resolves with the exit code once the thread has ended. */
  readonly exited: Promise<number>
  private closing = false
  private ending: Promise<void> | null = null
  private readonly closedError: () => Error

  constructor(entry: { filename: string; eval: boolean }, private readonly settings: WorkerRpcOptions<Local, Remote>) {
    const worker = new Worker(entry.filename, { eval: entry.eval, workerData: settings.workerData })
    super(worker as unknown as Port, settings)
    this.worker = worker
    this.closedError = settings.closedError ?? (() => new Error(`${settings.name} is closed`))
    worker.on('error', (error) => {
      settings.onError?.(error)
      this.died(error)
    })
    this.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        this.died(new Error(`${settings.name} exited (code ${code})`))
        settings.onExit?.(code)
        resolve(code)
      })
    )
    worker.unref()
  }

  /** The error a call made now would fail with, or null while the thread takes calls. */
  get unavailable(): Error | null {
    return this.failure ?? (this.closing ? this.closedError() : null)
  }

  override call<K extends CallName<Remote>>(name: K, args: ArgsOf<Remote, K>, transfer?: readonly ArrayBuffer[]) {
    if (this.closing) return Promise.reject(this.closedError())
    return super.call(name, args, transfer)
  }

  /**
   * Ends the thread gracefully: `name` is its last call (calls sent before it are answered first),
   * after which the thread closes its port and exits. Later calls fail with closedError; the
   * process stays alive until the thread has exited. When the thread is already gone or the last
   * call fails, the thread is terminated.
   */
  close<K extends CallName<Remote>>(name: K, args: ArgsOf<Remote, K>): Promise<void> {
    if (this.ending) return this.ending
    if (this.failure) return this.terminate()
    const last = super.call(name, args)
    this.closing = true
    this.worker.ref()
    this.ending = last.then(
      async () => {
        await this.exited
      },
      // Whatever the last call failed of, the thread has to go.
      () => this.worker.terminate().then(() => undefined)
    )
    return this.ending
  }

  /** Stops the thread at once; unanswered calls fail with closedError. */
  terminate(): Promise<void> {
    if (this.ending) return this.ending
    this.closing = true
    this.ending = this.worker.terminate().then(() => undefined)
    return this.ending
  }

  protected override busyChanged(busy: boolean): void {
    if (this.settings.refWhileBusy === false || this.closing) return
    if (busy) this.worker.ref()
    else this.worker.unref()
  }

  private died(cause: Error): void {
    this.fail(this.closing ? this.closedError() : (this.settings.deathError?.(cause) ?? cause))
  }
}

/** The thread's side of its boundary with the thread that started it. */
export class ParentEndpoint<Local extends ThreadSide, Remote extends ThreadSide> extends RpcEndpoint<Local, Remote> {
  /** Sends what waits, then closes the port: the thread ends once nothing else keeps it alive. */
  close(): void {
    this.flush()
    parentPort?.close()
  }
}

export function parentEndpoint<Local extends ThreadSide, Remote extends ThreadSide>(options: EndpointOptions<Local, Remote>): ParentEndpoint<Local, Remote> {
  if (!parentPort) throw new Error('this module must run in a worker thread')
  return new ParentEndpoint(parentPort as unknown as Port, options)
}
