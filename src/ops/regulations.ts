/**
 * The regulation runner: executes the regulations the store keeps (docs/privacy.md). Each
 * instance claims RUNNING regulations nobody holds (`claimRegulations`), so one instance runs
 * each and a regulation left RUNNING by a crash is taken up again once its claim runs out. It
 * wakes when a regulation is created on this instance and polls for the others (created by a
 * `type: "delete"` event, or through another instance on the same PostgreSQL).
 *
 *   SUPPRESS_ONLY         suppress
 *   UNSUPPRESS            unsuppress
 *   SUPPRESS_WITH_DELETE  suppress, purge, then each destination's onDelete
 *   DELETE_ONLY           purge, then each destination's onDelete
 *
 * Suppress and purge may run twice (after a crash) without harm: a second run finds nothing more
 * to do and counts nothing. A deletion handed to a destination may be sent twice then.
 */
import type { Regulation, RegulationCounts, RegulationType, StoreRegulations } from '../store/types'

/** The reason the store gives a suppressed user's unfinished deliveries when it skips them. */
export const SUPPRESSION_SKIP_REASON = 'user suppressed by a regulation (SUPPRESS_ONLY or SUPPRESS_WITH_DELETE): not delivered'

/** How often the runner looks for regulations it was not woken for. */
export const REGULATION_POLL_MS = 5_000
/**
 * How long a claim holds a regulation for its runner. A run normally takes seconds (suppress and
 * purge are one store call each); deletions handed to destinations take longer. The store has no
 * verb to extend a claim, so this is long enough for thousands of subjects, and it is also how
 * long a regulation waits after a crash before another instance takes it up.
 */
export const REGULATION_CLAIM_MS = 15 * 60_000
/** Deletions handed to one destination at once. */
const DELETE_CONCURRENCY = 4

/** A destination whose definition implements onDelete (delivery's `destinationDeleters` makes them). */
export interface DestinationDeleter {
  /** The destination's name (`destinations[].name`). */
  name: string
  /** Hands the destination one user's deletion (retried inside); rejects with a reason free of secrets. */
  deleteUser(userId: string): Promise<void>
}

export interface RunnerLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface RegulationRunnerOptions {
  store: StoreRegulations
  /** Names this instance's claims (several instances share one PostgreSQL store). */
  owner: string
  deleters?: readonly DestinationDeleter[]
  logger?: RunnerLogger
  pollMs?: number
  claimMs?: number
}

const SUPPRESSES: ReadonlySet<RegulationType> = new Set(['SUPPRESS_ONLY', 'SUPPRESS_WITH_DELETE'])
const DELETES: ReadonlySet<RegulationType> = new Set(['SUPPRESS_WITH_DELETE', 'DELETE_ONLY'])

/** Thrown by a step: the regulation FAILS with this reason. */
class StepFailure extends Error {}

const silent: RunnerLogger = { info() {}, warn() {}, error() {} }

export class RegulationRunner {
  private readonly store: StoreRegulations
  private readonly logger: RunnerLogger
  private readonly pollMs: number
  private readonly claimMs: number
  private readonly deleters: readonly DestinationDeleter[]
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private again = false
  private stopping = false

  constructor(private readonly options: RegulationRunnerOptions) {
    this.store = options.store
    this.logger = options.logger ?? silent
    this.pollMs = options.pollMs ?? REGULATION_POLL_MS
    this.claimMs = options.claimMs ?? REGULATION_CLAIM_MS
    this.deleters = options.deleters ?? []
  }

  /** Looks for regulations now, then every `pollMs`. */
  start(): void {
    this.wake()
  }

  /** A regulation was created: run it now rather than at the next poll. */
  wake(): void {
    if (this.stopping) return
    if (this.running) {
      this.again = true
      return
    }
    clearTimeout(this.timer)
    this.running = this.drain().finally(() => {
      this.running = undefined
      if (this.stopping) return
      if (this.again) {
        this.again = false
        this.wake()
      } else {
        this.timer = setTimeout(() => this.wake(), this.pollMs)
        this.timer.unref()
      }
    })
  }

  /**
   * Stops claiming; a regulation being run stops before its next subject and stays RUNNING, to be
   * taken up again when its claim runs out. Resolves when nothing of the runner is in flight.
   */
  async stop(): Promise<void> {
    this.stopping = true
    clearTimeout(this.timer)
    await this.running
  }

  /** Claims and runs regulations until none is left. */
  private async drain(): Promise<void> {
    while (!this.stopping) {
      let claimed: Regulation[]
      try {
        claimed = await this.store.claimRegulations(this.options.owner, this.claimMs, 1)
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'regulations: could not claim; trying again at the next poll')
        return
      }
      if (claimed.length === 0) return
      for (const regulation of claimed) await this.run(regulation)
    }
  }

  /** Runs one claimed regulation to FINISHED or FAILED (or leaves it RUNNING when stopped). */
  private async run(regulation: Regulation): Promise<void> {
    const { id, type, subjectIds } = regulation
    this.logger.info({ regulation: id, type, subjects: subjectIds.length, origin: regulation.origin }, 'regulation: running')
    try {
      if (SUPPRESSES.has(type)) {
        const suppressed = await this.step('suppress', () => this.store.suppress(subjectIds, SUPPRESSION_SKIP_REASON))
        await this.store.updateRegulation(id, { addCounts: { suppressed } })
      }
      if (type === 'UNSUPPRESS') {
        const unsuppressed = await this.step('unsuppress', () => this.store.unsuppress(subjectIds))
        await this.store.updateRegulation(id, { addCounts: { unsuppressed } })
      }
      let failure: string | null = null
      if (DELETES.has(type)) {
        const purged = await this.step('purge', () => this.store.purgeUsers(subjectIds))
        await this.store.updateRegulation(id, { addCounts: purged })
        const handed = await this.handToDestinations(subjectIds)
        if (handed === null) return
        await this.store.updateRegulation(id, { addCounts: handed.counts })
        failure = handed.failure
      }
      await this.store.updateRegulation(id, failure ? { status: 'FAILED', error: failure } : { status: 'FINISHED' })
      this.logger[failure ? 'warn' : 'info']({ regulation: id, type, ...(failure ? { reason: failure } : {}) }, failure ? 'regulation: failed' : 'regulation: finished')
    } catch (err) {
      const reason = err instanceof StepFailure ? err.message : `recording its progress failed: ${(err as Error).message}`
      this.logger.error({ regulation: id, type, reason }, 'regulation: failed')
      await this.store.updateRegulation(id, { status: 'FAILED', error: reason }).catch((e: Error) =>
        this.logger.error({ regulation: id, err: e.message }, 'regulation: could not record the failure; it stays RUNNING and is tried again when its claim runs out')
      )
    }
  }

  private async step<T>(name: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw new StepFailure(`the store failed to ${name}: ${(err as Error).message}; create the regulation again`)
    }
  }

  /**
   * Each destination with onDelete gets every subject's deletion; their counts, and the failure
   * to record (naming the destinations), or null when stopped half-way.
   */
  private async handToDestinations(subjectIds: string[]): Promise<{ counts: Partial<RegulationCounts>; failure: string | null } | null> {
    let deletes = 0
    let failures = 0
    const failed: string[] = []
    for (const deleter of this.deleters) {
      const reasons: string[] = []
      let next = 0
      const worker = async () => {
        while (!this.stopping && next < subjectIds.length) {
          const userId = subjectIds[next++]!
          try {
            await deleter.deleteUser(userId)
            deletes++
          } catch (err) {
            failures++
            reasons.push((err as Error).message)
          }
        }
      }
      await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, subjectIds.length) }, worker))
      if (this.stopping) return null
      if (reasons.length > 0) failed.push(`destination "${deleter.name}" failed ${reasons.length} deletion(s): ${reasons[0]}`)
    }
    return { counts: { destinationDeletes: deletes, destinationDeleteFailures: failures }, failure: failed.length ? failed.join('; ') : null }
  }
}
