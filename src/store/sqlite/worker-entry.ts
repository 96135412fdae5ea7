/**
 * The worker thread that hosts the SQLite engine (see proxy.ts). Every verb the main thread
 * calls arrives as a call and runs on this thread's one connection, so commits (and their
 * fsync) never block the main thread's event loop. Calls that arrive while a commit runs are
 * handled together afterwards and share the next group transaction.
 */
import { workerData } from 'node:worker_threads'
import type { StoreLogger } from '../types'
import { SqliteStore } from './index'
import { eventTextsOf, loadExpander, type SerialisedEvents } from '../serialised'
import { parentEndpoint, toPlainError, type Handlers } from '../worker-rpc'
import type { InboxInput } from './inbox'
import { HOSTED_VERBS, type EngineCaller, type EngineCounters, type EngineThread, type Settlement, type WorkerSetup } from './worker-protocol'

const setup = workerData as WorkerSetup

/** The caller's clock: when the main thread has a custom one, each call comes after its reading. */
let clock = Date.now()
const now = setup.customClock ? () => clock : Date.now

let store!: SqliteStore
let sent: EngineCounters = { enqueueTransactions: 0, inboxErrors: 0 }

/** Tells the main thread the counters when they changed; called before each answer, so they ride on it. */
function sendCounters(): void {
  if (!store || (store.enqueueTransactions === sent.enqueueTransactions && store.inboxErrors === sent.inboxErrors)) return
  sent = { enqueueTransactions: store.enqueueTransactions, inboxErrors: store.inboxErrors }
  rpc.notify('counters', sent)
}

/** The engine's log lines go to the main thread's logger. */
const logger: StoreLogger = {
  warn(obj, msg) {
    rpc.notify('log', { level: 'warn', obj, msg })
    sendCounters()
  },
  error(obj, msg) {
    rpc.notify('log', { level: 'error', obj, msg })
    sendCounters()
  }
}

/** Each call on its own (own savepoint, own failure), all in the same group transaction. */
function enqueueMany(calls: SerialisedEvents[]): Promise<Settlement[]> {
  return Promise.all(
    calls.map((call) =>
      // enqueueEvents takes each event's JSON as it came (eventJson) and never reads `event`.
      Promise.resolve()
        .then(() => store.enqueue(eventTextsOf(call)))
        .then(
          (value): Settlement => ({ ok: true, value }),
          (error: unknown): Settlement => ({ ok: false, error: toPlainError(error) })
        )
    )
  )
}

/** Runs a verb and sends the counters it changed before its answer. */
async function counted<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } finally {
    sendCounters()
  }
}

const handlers: Partial<Handlers<EngineThread>> = {
  open() {
    const expander = setup.expander === undefined ? undefined : { path: setup.expander, expand: loadExpander(setup.expander) }
    store = new SqliteStore(setup.file, { dedupeWindowMs: setup.dedupeWindowMs, retentionMs: setup.retentionMs, destinations: setup.destinations, now, poolSize: 1, expander, logger })
    store.onQueued((queued) => rpc.notify('queued', queued))
  },
  enqueueMany: (calls) => counted(() => enqueueMany(calls)),
  admitRows: (rows: InboxInput[]) => counted(() => store.admitRows(rows)),
  async close() {
    await store.close()
    // After the answers to earlier calls, which settle in microtasks still queued.
    setImmediate(() => rpc.close())
  }
}
for (const verb of HOSTED_VERBS) {
  ;(handlers as Record<string, unknown>)[verb] = (...args: unknown[]) =>
    counted(() => (store[verb] as (...a: unknown[]) => Promise<unknown>).apply(store, args))
}

const rpc = parentEndpoint<EngineThread, EngineCaller>({
  handlers,
  onNote(note) {
    clock = note.value
  }
})
