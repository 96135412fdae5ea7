/**
 * Where the destination runs: in this thread, or in a pool of worker threads so that mapping,
 * validation and HTTP (most of the CPU per event, in actions-core and its HTTP client) use more
 * than one core while the main thread leases and records outcomes.
 * Both give the same AttemptResult; errors from a worker arrive as plain objects with the fields
 * classification reads (name, message, code, status, retryAfterMs, networkErrorCode, ...).
 */
import { threadEntry, WorkerRpc, type NameAdmission } from '../store'
import type { Batcher } from './batcher'
import { runSubscriptions, type AttemptResult, type RelayDestination, type RunOptions } from './attempt'
import type { ActiveSubscription, DefinitionLike } from './subscriptions'
import type { AdmitNames, NameGuard, NameKind, NameLimits } from './names'
import type { DestinationSettings, SubscriptionConfig } from './types'
import { explainActionError } from '../destination'

export interface AttemptTask {
  event: Record<string, unknown>
  settings: DestinationSettings
  /** Names of the subscriptions to run, in order. */
  subscriptions: string[]
}

export interface Executor {
  readonly threads: number
  run(task: AttemptTask): Promise<AttemptResult>
  close(): Promise<void>
}

export function inThreadExecutor(
  destination: RelayDestination,
  subscriptions: ActiveSubscription[],
  guard?: NameGuard,
  batcher?: Batcher,
  explain?: RunOptions['explain']
): Executor {
  const byName = new Map(subscriptions.map((s) => [s.name, s]))
  // CSB's account of a failed run unless the destination brings its own (fanout.ts: none).
  const options = { guard: guard?.check, batcher, explain: explain ?? explainActionError }
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

/** A delivery worker runs attempts; it sends no notes. */
export interface DeliveryWorkerSide {
  calls: { run(task: AttemptTask): AttemptResult }
  notes: Record<never, never>
}

/** The pool's side: a worker's NameGuard asks it to admit new names (names.ts), and so the store. */
export interface PoolSide {
  calls: { admitNames(kind: NameKind, names: string[], limit: number): Promise<NameAdmission> }
  notes: Record<never, never>
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
  const entry = threadEntry(__filename, __dirname, 'worker')
  const workers: Array<WorkerRpc<PoolSide, DeliveryWorkerSide>> = []
  let turn = 0
  let closing = false
  let everAnswered = false
  let broken = false

  const spawn = (slot: number) => {
    workers[slot] = new WorkerRpc<PoolSide, DeliveryWorkerSide>(entry, {
      name: 'delivery worker',
      workerData: setup,
      // The pipeline keeps the process alive while it delivers; an idle pool must not.
      refWhileBusy: false,
      handlers: { admitNames: (kind, names, limit) => admit(kind, names, limit) },
      onError: (err) => {
        onError(err)
        // A worker that never answered anything cannot load: stop trying, run in this thread.
        if (!everAnswered) broken = true
      },
      onExit: () => {
        if (!closing && !broken) spawn(slot)
      }
    })
  }
  for (let i = 0; i < size; i++) spawn(i)

  return {
    threads: size,
    run(task) {
      if (broken) return fallback.run(task)
      const w = workers[turn++ % workers.length]
      return w.call('run', [task]).then((result) => {
        everAnswered = true
        return result
      })
    },
    async close() {
      closing = true
      await Promise.all(workers.map((w) => w.terminate()))
    }
  }
}
