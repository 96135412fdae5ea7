/**
 * Where the destination runs: in this thread, or in a pool of worker threads so that mapping,
 * validation and HTTP (most of the CPU per event, in actions-core and its HTTP client) use more
 * than one core while the main thread leases and records outcomes.
 * Both give the same AttemptResult; errors from a worker arrive as plain objects with the fields
 * classification reads (name, message, code, status, retryAfterMs, networkErrorCode, ...).
 */
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { runSubscriptions, type AttemptResult, type RelayDestination } from './attempt'
import type { ActiveSubscription, DefinitionLike } from './subscriptions'
import type { NameAdmission } from '../store/types'
import type { AdmitNames, NameGuard, NameKind, NameLimits } from './names'
import type { CsbSettings, SubscriptionConfig } from './types'

export interface AttemptTask {
  event: Record<string, unknown>
  settings: CsbSettings
  /** Names of the subscriptions to run, in order. */
  subscriptions: string[]
}

export interface Executor {
  readonly threads: number
  run(task: AttemptTask): Promise<AttemptResult>
  close(): Promise<void>
}

export function inThreadExecutor(destination: RelayDestination, subscriptions: ActiveSubscription[], guard?: NameGuard): Executor {
  const byName = new Map(subscriptions.map((s) => [s.name, s]))
  const options = { guard: guard?.check }
  return {
    threads: 0,
    run: (task) =>
      runSubscriptions(destination, task.event, task.settings, task.subscriptions.map((n) => byName.get(n) as ActiveSubscription), options),
    close: async () => {}
  }
}

/** What a worker needs to build the same runtime as the main thread. */
export interface WorkerSetup {
  /** Subscriptions exactly as compiled in the main thread (configs; the worker parses them again). */
  subscriptions: SubscriptionConfig[]
  requestTimeoutMs: number
  /** Limits of the worker's own NameGuard, which asks the main thread (and so the store) to admit new names. */
  nameLimits: NameLimits
}

/** A worker's request to admit names (names.ts), and the main thread's answer. */
export interface AdmitRequest {
  admit: { id: number; kind: NameKind; names: string[]; limit: number }
}
export interface AdmitAnswer {
  admitted: { id: number; result?: NameAdmission; error?: string }
}

/** Fields of an error that survive the trip from a worker. */
export function plainError(error: unknown): Record<string, unknown> {
  if (!error || typeof error !== 'object') return { name: 'Error', message: String(error) }
  const e = error as Record<string, unknown>
  const out: Record<string, unknown> = { name: e.name ?? 'Error', message: e.message ?? String(error) }
  for (const key of ['code', 'status', 'retryAfterMs', 'networkErrorCode', 'responseStatus', 'type']) {
    const value = e[key]
    if (typeof value === 'string' || typeof value === 'number') out[key] = value
  }
  const cause = e.cause as Record<string, unknown> | undefined
  if (cause && typeof cause.code === 'string') out.cause = { code: cause.code }
  return out
}

interface Pending {
  resolve(result: AttemptResult): void
  reject(err: unknown): void
}

/** How a worker thread is started: the compiled worker.js, or from TypeScript sources through tsx. */
function workerEntry(): { filename: string; eval: boolean } {
  if (!__filename.endsWith('.ts')) return { filename: path.join(__dirname, 'worker.js'), eval: false }
  const tsx = require.resolve('tsx/cjs')
  return { filename: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(path.join(__dirname, 'worker.ts'))})`, eval: true }
}

/**
 * A fixed pool of worker threads, tasks handed out round-robin; a worker that dies is replaced.
 * When workers cannot start at all (no answer ever, an error at load), attempts run on `fallback`.
 */
export function threadPoolExecutor(
  size: number,
  setup: WorkerSetup,
  onError: (err: unknown) => void,
  fallback: Executor,
  admit: AdmitNames
): Executor {
  const entry = workerEntry()
  const workers: Array<{ worker: Worker; pending: Map<number, Pending> }> = []
  let nextId = 0
  let turn = 0
  let closing = false
  let everAnswered = false
  let broken = false

  const spawn = (slot: number) => {
    const worker = new Worker(entry.filename, { eval: entry.eval, workerData: setup })
    const w = { worker, pending: new Map<number, Pending>() }
    worker.on('message', (msg: { id: number; result: AttemptResult } | AdmitRequest) => {
      if ('admit' in msg) {
        const { id, kind, names, limit } = msg.admit
        admit(kind, names, limit).then(
          (result) => worker.postMessage({ admitted: { id, result } } satisfies AdmitAnswer),
          (err) => worker.postMessage({ admitted: { id, error: err instanceof Error ? err.message : String(err) } } satisfies AdmitAnswer)
        )
        return
      }
      everAnswered = true
      const p = w.pending.get(msg.id)
      w.pending.delete(msg.id)
      p?.resolve(msg.result)
    })
    const fail = (err: unknown) => {
      for (const p of w.pending.values()) p.reject(err)
      w.pending.clear()
    }
    worker.on('error', (err) => {
      onError(err)
      // A worker that never answered anything cannot load: stop trying, run in this thread.
      if (!everAnswered) broken = true
      fail(err)
    })
    worker.on('exit', (code) => {
      fail(new Error(`delivery worker exited with code ${code}`))
      if (!closing && !broken) spawn(slot)
    })
    worker.unref()
    workers[slot] = w
  }
  for (let i = 0; i < size; i++) spawn(i)

  return {
    threads: size,
    run(task) {
      if (broken) return fallback.run(task)
      const w = workers[turn++ % workers.length]
      const id = nextId++
      return new Promise<AttemptResult>((resolve, reject) => {
        w.pending.set(id, { resolve, reject })
        w.worker.postMessage({ id, task })
      })
    },
    async close() {
      closing = true
      await Promise.all(workers.map((w) => w.worker.terminate()))
    }
  }
}
