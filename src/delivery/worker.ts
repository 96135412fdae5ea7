/**
 * A delivery worker thread (see executor.ts): builds the same instrumented destination and
 * subscriptions as the main thread and runs attempts it is sent, returning plain results.
 */
import { parentPort, workerData } from 'node:worker_threads'
import csbDestination from '../destination'
import { instrumentDefinition, RelayDestination } from './actions-core'
import { runSubscriptions } from './attempt'
import { plainError, type AdmitAnswer, type AdmitRequest, type AttemptTask, type WorkerSetup } from './executor'
import { NameGuard } from './names'
import type { NameAdmission } from '../store/types'
import { compileSubscriptions } from './subscriptions'

const setup = workerData as WorkerSetup
const destination = new RelayDestination(instrumentDefinition(csbDestination, { timeoutMs: () => setup.requestTimeoutMs }))
const byName = new Map(compileSubscriptions(setup.subscriptions, csbDestination).map((s) => [s.name, s]))

// New feature and module names are admitted by the main thread (it asks the store), one answer per request.
const admitting = new Map<number, { resolve(a: NameAdmission): void; reject(e: Error): void }>()
let nextAdmit = 0
const guard = new NameGuard(
  (kind, names, limit) =>
    new Promise<NameAdmission>((resolve, reject) => {
      const id = nextAdmit++
      admitting.set(id, { resolve, reject })
      parentPort?.postMessage({ admit: { id, kind, names, limit } } satisfies AdmitRequest)
    }),
  setup.nameLimits
)
const options = { guard: guard.check }

parentPort?.on('message', async (message: { id: number; task: AttemptTask } | AdmitAnswer) => {
  if ('admitted' in message) {
    const { id, result, error } = message.admitted
    const waiting = admitting.get(id)
    admitting.delete(id)
    if (result) waiting?.resolve(result)
    else waiting?.reject(new Error(error ?? 'no answer'))
    return
  }
  const { id, task } = message
  const subs = task.subscriptions.map((n) => byName.get(n)).filter((s) => s !== undefined)
  try {
    const result = await runSubscriptions(destination, task.event, task.settings, subs, options)
    for (const r of result.results) if (r.error !== undefined) r.error = plainError(r.error)
    if (result.failed && result.failed.error !== undefined) result.failed.error = plainError(result.failed.error)
    parentPort?.postMessage({ id, result })
  } catch (err) {
    parentPort?.postMessage({ id, result: { results: [], failed: { subscription: '', action: '', exchanges: [], error: plainError(err) } } })
  }
})
