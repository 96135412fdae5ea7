/**
 * A delivery worker thread (see executor.ts): builds the same instrumented destination and
 * subscriptions as the main thread and runs attempts it is sent, returning plain results.
 */
import { parentPort, workerData } from 'node:worker_threads'
import csbDestination from '../destination'
import { RelayDestination, runSubscriptions } from './attempt'
import { instrumentDefinition } from './capture'
import { plainError, type AttemptTask, type WorkerSetup } from './executor'
import { compileSubscriptions } from './subscriptions'

const setup = workerData as WorkerSetup
const destination = new RelayDestination(instrumentDefinition(csbDestination, { timeoutMs: () => setup.requestTimeoutMs }))
const byName = new Map(compileSubscriptions(setup.subscriptions, csbDestination).map((s) => [s.name, s]))

parentPort?.on('message', async ({ id, task }: { id: number; task: AttemptTask }) => {
  const subs = task.subscriptions.map((n) => byName.get(n)).filter((s) => s !== undefined)
  try {
    const result = await runSubscriptions(destination, task.event, task.settings, subs)
    for (const r of result.results) if (r.error !== undefined) r.error = plainError(r.error)
    if (result.failed && result.failed.error !== undefined) result.failed.error = plainError(result.failed.error)
    parentPort?.postMessage({ id, result })
  } catch (err) {
    parentPort?.postMessage({ id, result: { results: [], failed: { subscription: '', action: '', exchanges: [], error: plainError(err) } } })
  }
})
