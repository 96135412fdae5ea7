/**
 * A delivery worker thread (see executor.ts): builds the same instrumented destination and
 * subscriptions as the main thread and runs attempts it is sent, returning plain results.
 */
import { workerData } from 'node:worker_threads'
import csbDestination, { explainActionError } from '../destination'
import { parentEndpoint } from '../store'
import { instrumentDefinition, RelayDestination } from './actions-core'
import { runSubscriptions, type AttemptResult } from './attempt'
import { plainError, type AttemptTask, type DeliveryWorkerSide, type PoolSide, type WorkerSetup } from './executor'
import { NameGuard } from './names'
import { compileSubscriptions } from './subscriptions'

const setup = workerData as WorkerSetup
const destination = new RelayDestination(instrumentDefinition(csbDestination, { timeoutMs: () => setup.requestTimeoutMs }))
const byName = new Map(compileSubscriptions(setup.subscriptions, csbDestination).map((s) => [s.name, s]))

/** Runs an attempt; every error in its result becomes a plain object with the fields classification reads. */
async function run(task: AttemptTask): Promise<AttemptResult> {
  const subs = task.subscriptions.map((n) => byName.get(n)).filter((s) => s !== undefined)
  try {
    const result = await runSubscriptions(destination, task.event, task.settings, subs, options)
    for (const r of result.results) if (r.error !== undefined) r.error = plainError(r.error)
    if (result.failed && result.failed.error !== undefined) result.failed.error = plainError(result.failed.error)
    return result
  } catch (err) {
    return { results: [], failed: { subscription: '', action: '', exchanges: [], error: plainError(err) } }
  }
}

const pool = parentEndpoint<DeliveryWorkerSide, PoolSide>({ handlers: { run } })

// New feature and module names are admitted by the main thread (it asks the store).
const guard = new NameGuard((kind, names, limit) => pool.call('admitNames', [kind, names, limit]), setup.nameLimits)
const options = { guard: guard.check, explain: explainActionError }
