/**
 * The regulation runner: executes the regulations the store keeps (docs/privacy.md). Each
 * instance claims RUNNING regulations nobody holds (`claimRegulations`), so one instance runs
 * each. The claim is short and renewed while the runner works (regulation-claim.ts): a regulation left
 * RUNNING by a crash is taken up again soon after, one left by a stop at once (the claim is
 * released), and one whose claim was lost is left to whoever holds it. It wakes when a
 * regulation is created on this instance and polls for the others (created by a
 * `type: "delete"` event, or through another instance on the same PostgreSQL).
 *
 *   SUPPRESS_ONLY         suppress
 *   UNSUPPRESS            unsuppress
 *   SUPPRESS_WITH_DELETE  suppress, purge, then each destination's onDelete
 *   DELETE_ONLY           purge, then each destination's onDelete
 *
 * Before a regulation that suppressed or purged is recorded FINISHED, no copy of the users' events
 * may still go out: this instance's delivery drops what it holds (`revalidateLeases`), and when
 * the store says another instance held leases on the rows taken away, the runner waits until
 * those leases have run out (that instance's delivery starts no event after its lease may have
 * run out) and a request started just before could have ended (`inFlightMs`).
 *
 * Suppress and purge may run twice (after a crash) without harm: a second run finds nothing more
 * to do and counts nothing. A deletion handed to a destination may be sent twice then.
 */
import type { LeasesTaken, Regulation, RegulationCounts, RegulationType, StoreRegulations } from '../store/types'
import { HeldClaim, REGULATION_CLAIM_MS, type RunnerLogger } from './regulation-claim'

export { REGULATION_CLAIM_MS, type RunnerLogger } from './regulation-claim'

/** The reason the store gives a suppressed user's unfinished deliveries when it skips them. */
export const SUPPRESSION_SKIP_REASON = 'user suppressed by a regulation (SUPPRESS_ONLY or SUPPRESS_WITH_DELETE): not delivered'

/** How often the runner looks for regulations it was not woken for. */
export const REGULATION_POLL_MS = 5_000
/** Deletions handed to one destination at once. */
const DELETE_CONCURRENCY = 4
/** Added to the wait for other instances' leases: their clocks and this one's may differ by this much. */
export const LEASE_CLOCK_MARGIN_MS = 1_000
/** How often a wait for other instances' leases checks whether the runner is stopping. */
const WAIT_SLICE_MS = 250

/** A destination whose definition implements onDelete (delivery's `destinationDeleters` makes them). */
export interface DestinationDeleter {
  /** The destination's name (`destinations[].name`). */
  name: string
  /** Hands the destination one user's deletion (retried inside); rejects with a reason free of secrets. */
  deleteUser(userId: string): Promise<void>
}

export interface RegulationRunnerOptions {
  store: StoreRegulations
  /** Names this instance's claims (several instances share one PostgreSQL store). */
  owner: string
  deleters?: readonly DestinationDeleter[]
  logger?: RunnerLogger
  pollMs?: number
  /** How long a claim holds (renewed every third of it while running); REGULATION_CLAIM_MS by default. */
  claimMs?: number
  /**
   * Delivery's `revalidateLeases`: drops the events this instance's delivery holds in its buffer
   * whose lease a suppression or purge took away, so none is sent once the regulation is recorded
   * (nor after a destination was handed the deletion). Called after those steps.
   */
  revalidateLeases?: () => Promise<void>
  /**
   * The longest a delivery request may take (delivery.requestTimeoutMs): how long after another
   * instance's lease ran out a request it started may still reach a destination.
   */
  inFlightMs?: number
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
   * Stops claiming; a regulation being run stops before its next subject and stays RUNNING, its
   * claim released so any instance takes it up at once. Resolves when nothing of the runner is in
   * flight.
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
      const claimedAt = Date.now()
      try {
        claimed = await this.store.claimRegulations(this.options.owner, this.claimMs, 1)
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'regulations: could not claim; trying again at the next poll')
        return
      }
      if (claimed.length === 0) return
      // A lost claim: another instance runs it, or the store is out of reach; look again at the next poll.
      for (const regulation of claimed) if (!(await this.run(regulation, claimedAt))) return
    }
  }

  /** Runs one claimed regulation, holding its claim meanwhile; lets the claim go if it stopped half-way. False when the claim was lost. */
  private async run(regulation: Regulation, claimedAt: number): Promise<boolean> {
    const claim = new HeldClaim({ store: this.store, id: regulation.id, owner: this.options.owner, claimMs: this.claimMs, logger: this.logger, claimedAt })
    let settled = false
    try {
      settled = await this.execute(regulation, claim)
    } finally {
      await claim.end(!settled)
    }
    if (!settled) {
      const { id, type } = regulation
      if (claim.lost) this.logger.warn({ regulation: id, type }, 'regulation: another instance holds its claim now; this one stopped working on it')
      else this.logger.info({ regulation: id, type }, 'regulation: stopped half-way; it stays RUNNING for any instance to take up')
    }
    return !claim.lost
  }

  /**
   * Runs the regulation's steps and records it FINISHED or FAILED: true. False when it halted
   * (the runner stops, or lost the claim) before the end: it stays RUNNING.
   */
  private async execute(regulation: Regulation, claim: { readonly lost: boolean }): Promise<boolean> {
    const { id, type, subjectIds } = regulation
    const halted = () => this.stopping || claim.lost
    this.logger.info({ regulation: id, type, subjects: subjectIds.length, origin: regulation.origin }, 'regulation: running')
    const { owner } = this.options
    const elsewhere: LeasesTaken = {}
    const note = (taken: LeasesTaken) => {
      if (taken.leasedElsewhereUntil !== undefined) elsewhere.leasedElsewhereUntil = Math.max(elsewhere.leasedElsewhereUntil ?? 0, taken.leasedElsewhereUntil)
    }
    try {
      if (SUPPRESSES.has(type)) {
        const { added: suppressed, ...taken } = await this.step('suppress', () => this.store.suppress(subjectIds, SUPPRESSION_SKIP_REASON, owner))
        note(taken)
        await this.store.updateRegulation(id, { addCounts: { suppressed } })
      }
      if (type === 'UNSUPPRESS') {
        const unsuppressed = await this.step('unsuppress', () => this.store.unsuppress(subjectIds))
        await this.store.updateRegulation(id, { addCounts: { unsuppressed } })
      }
      let failure: string | null = null
      if (DELETES.has(type)) {
        if (halted()) return false
        const { leasedElsewhereUntil, ...purged } = await this.step('purge', () => this.store.purgeUsers(subjectIds, owner))
        note({ leasedElsewhereUntil })
        await this.store.updateRegulation(id, { addCounts: purged })
      }
      if (SUPPRESSES.has(type) || DELETES.has(type)) {
        await this.dropBuffered()
        if (!(await this.outlastLeasesElsewhere(id, elsewhere.leasedElsewhereUntil, halted))) return false
      }
      if (DELETES.has(type)) {
        if (halted()) return false
        // Deletions handed before a halt are not counted: whoever resumes hands them all again.
        const handed = await this.handToDestinations(subjectIds, halted)
        if (handed === null) return false
        await this.store.updateRegulation(id, { addCounts: handed.counts })
        failure = handed.failure
      }
      // Once the steps are done a stop does not keep the outcome from being recorded; a lost claim does.
      if (claim.lost) return false
      await this.store.updateRegulation(id, failure ? { status: 'FAILED', error: failure } : { status: 'FINISHED' })
      this.logger[failure ? 'warn' : 'info']({ regulation: id, type, ...(failure ? { reason: failure } : {}) }, failure ? 'regulation: failed' : 'regulation: finished')
    } catch (err) {
      if (claim.lost) return false
      const reason = err instanceof StepFailure ? err.message : `recording its progress failed: ${(err as Error).message}`
      this.logger.error({ regulation: id, type, reason }, 'regulation: failed')
      await this.store.updateRegulation(id, { status: 'FAILED', error: reason }).catch((e: Error) =>
        this.logger.error({ regulation: id, err: e.message }, 'regulation: could not record the failure; it stays RUNNING and is tried again when its claim runs out')
      )
    }
    return true
  }

  /**
   * Waits until other instances' leases on the rows just taken away have run out and a request
   * started under them has ended. False when the runner halted meanwhile: the regulation stays
   * RUNNING, and an instance that takes it up runs its steps again, which then find nothing and
   * so do not wait (docs/privacy.md says so).
   */
  private async outlastLeasesElsewhere(id: string, until: number | undefined, halted: () => boolean): Promise<boolean> {
    if (until === undefined) return true
    const end = until + (this.options.inFlightMs ?? 0) + LEASE_CLOCK_MARGIN_MS
    if (end <= Date.now()) return true
    this.logger.info({ regulation: id, waitMs: end - Date.now() }, 'regulation: waiting for other instances\' leases on the users\' events to run out before it is recorded')
    while (Date.now() < end) {
      if (halted()) return false
      await new Promise((resolve) => setTimeout(resolve, Math.min(WAIT_SLICE_MS, end - Date.now())))
    }
    return !halted()
  }

  /** Delivery drops its buffered copies of the events just skipped or purged. */
  private async dropBuffered(): Promise<void> {
    const revalidate = this.options.revalidateLeases
    if (!revalidate) return
    try {
      await revalidate()
    } catch (err) {
      throw new StepFailure(`delivery could not check its buffered events' leases: ${(err as Error).message}; create the regulation again`)
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
   * to record (naming the destinations), or null when `halted` half-way.
   */
  private async handToDestinations(
    subjectIds: string[], halted: () => boolean
  ): Promise<{ counts: Partial<RegulationCounts>; failure: string | null } | null> {
    let deletes = 0
    let failures = 0
    const failed: string[] = []
    for (const deleter of this.deleters) {
      const reasons: string[] = []
      let next = 0
      const worker = async () => {
        while (!halted() && next < subjectIds.length) {
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
      if (halted()) return null
      if (reasons.length > 0) failed.push(`destination "${deleter.name}" failed ${reasons.length} deletion(s): ${reasons[0]}`)
    }
    return { counts: { destinationDeletes: deletes, destinationDeleteFailures: failures }, failure: failed.length ? failed.join('; ') : null }
  }
}
