/**
 * Worker thread that hosts the SQLite engine (see proxy.ts). Every verb the main thread calls
 * arrives as a message and runs on this thread's one connection, so commits (and their fsync)
 * never block the main thread's event loop. Messages that arrive while a commit runs are
 * handled together afterwards and share the next group transaction.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { QueuedSummary, Store } from '../types'
import { SqliteStore } from './index'
import { eventTextsOf, loadExpander, type SerialisedEvents } from '../serialised'
import type { InboxInput } from './inbox'
import type { Settlement, WorkerQueuedNotice, WorkerReply, WorkerRequest, WorkerSetup } from './proxy'

const port = parentPort
if (!port) throw new Error('worker-entry must run in a worker thread')
const setup = workerData as WorkerSetup

/** The caller's clock: when the main thread has a custom one, each request carries its reading. */
let clock = Date.now()
const now = setup.customClock ? () => clock : Date.now

function serialiseError(error: unknown): NonNullable<WorkerReply['error']> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return { name: error.name, message: error.message, code: typeof code === 'string' ? code : undefined }
  }
  return { name: 'Error', message: String(error) }
}

let store!: SqliteStore
try {
  const expander = setup.expander === undefined ? undefined : { path: setup.expander, expand: loadExpander(setup.expander) }
  store = new SqliteStore(setup.file, { dedupeWindowMs: setup.dedupeWindowMs, retentionMs: setup.retentionMs, now, poolSize: 1, expander })
  port.postMessage({ id: 0, ok: true, value: null, enqueueTransactions: 0 } satisfies WorkerReply)
} catch (error) {
  port.postMessage({ id: 0, ok: false, error: serialiseError(error), enqueueTransactions: 0 } satisfies WorkerReply)
  port.close()
}

/** Reports of moves into the queue not yet sent: they ride on the next answer, or go together at the end of this turn. */
const reports: QueuedSummary[] = []
let reportsScheduled = false
const sendReports = () => {
  reportsScheduled = false
  if (reports.length > 0) port.postMessage({ queued: reports.splice(0) } satisfies WorkerQueuedNotice)
}
store?.onQueued((queued) => {
  reports.push(queued)
  if (!reportsScheduled) {
    reportsScheduled = true
    setImmediate(sendReports)
  }
})

const reply = (message: Omit<WorkerReply, 'enqueueTransactions'>) => {
  const out = { ...message, enqueueTransactions: store.enqueueTransactions } as WorkerReply
  if (reports.length > 0) out.queued = reports.splice(0)
  port.postMessage(out)
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
          (error: unknown): Settlement => ({ ok: false, error: serialiseError(error) })
        )
    )
  )
}

port.on('message', (request: WorkerRequest) => {
  if (request.now !== undefined) clock = request.now
  let pending: Promise<unknown>
  if (request.verb === 'enqueueMany') {
    pending = enqueueMany(request.args[0] as SerialisedEvents[])
  } else if (request.verb === 'admitRows') {
    pending = store.admitRows(request.args[0] as InboxInput[])
  } else {
    try {
      const verb = store[request.verb] as (...args: unknown[]) => Promise<unknown>
      pending = Promise.resolve(verb.apply(store, request.args))
    } catch (error) {
      pending = Promise.reject(error)
    }
  }
  pending.then(
    (value) => {
      reply({ id: request.id, ok: true, value })
      // After the answers to earlier calls, which settle in microtasks still queued.
      if (request.verb === 'close') setImmediate(() => port.close())
    },
    (error: unknown) => reply({ id: request.id, ok: false, error: serialiseError(error) })
  )
})

export type HostedVerb = Exclude<keyof Store, 'engine' | 'enqueueTransactions' | 'keepsOpaqueBatches' | 'admit' | 'onQueued'>
