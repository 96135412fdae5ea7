/**
 * Regulations (user suppression and deletion), shaped as Segment's Public API shapes them. The
 * store keeps the regulations, the suppression list and does the purge; whoever runs a
 * regulation (ops) claims it, calls these verbs and records its progress. See docs/privacy.md.
 */

export type RegulationType = 'SUPPRESS_ONLY' | 'UNSUPPRESS' | 'SUPPRESS_WITH_DELETE' | 'DELETE_ONLY'
export type RegulationStatus = 'RUNNING' | 'FINISHED' | 'FAILED'

/** What a regulation has done so far. Every count starts at 0. */
export interface RegulationCounts {
  /** User ids added to the suppression list (already there: not counted). */
  suppressed: number
  /** User ids taken off it. */
  unsuppressed: number
  /** Delivery rows removed by the purge, every status and destination. */
  events: number
  /** Events removed from admitted batches not yet queued (SQLite's inbox). */
  admittedEvents: number
  /** Identity-map links removed. */
  identityLinks: number
  /** Deletions handed to destinations that implement `onDelete`, and those that failed. */
  destinationDeletes: number
  destinationDeleteFailures: number
}

export interface Regulation {
  /** The `regulateId`. */
  id: string
  type: RegulationType
  subjectType: 'USER_ID'
  subjectIds: string[]
  status: RegulationStatus
  /** Where it came from: 'api', 'cli' (through the API too) or 'event' (a `type: "delete"` event). */
  origin: string
  createdAt: Date
  finishedAt: Date | null
  counts: RegulationCounts
  /** Why it FAILED (or what failed so far), never a secret. */
  error: string | null
}

export interface NewRegulation {
  type: RegulationType
  subjectIds: string[]
  origin: string
}

export interface RegulationUpdate {
  status?: RegulationStatus
  /** Added to the stored counts (not replacing them). */
  addCounts?: Partial<RegulationCounts>
  /** Stored cleaned (a NUL or lone surrogate as U+FFFD) and cut to REGULATION_ERROR_MAX characters. */
  error?: string | null
}

/**
 * Set by a suppress or purge that took rows away from leases another owner (instance) held:
 * when the latest of those leases runs out (ms since the epoch, that owner's clock). The owner
 * may still hold copies of those rows in memory until then (delivery starts none after its
 * lease may have run out), so nothing of them is sent once this time, plus the longest request,
 * has passed.
 */
export interface LeasesTaken {
  leasedElsewhereUntil?: number
}

/** What one purge removed. */
export interface PurgeResult extends LeasesTaken {
  events: number
  admittedEvents: number
  identityLinks: number
}

/** What one suppress did. */
export interface SuppressResult extends LeasesTaken {
  /** User ids added to the list (already there: not counted). */
  added: number
}

export interface StoreRegulations {
  /** Records a regulation, RUNNING, with a new id. */
  createRegulation(regulation: NewRegulation): Promise<Regulation>
  getRegulation(id: string): Promise<Regulation | null>
  /** Newest first. */
  listRegulations(query?: { limit?: number; status?: RegulationStatus }): Promise<Regulation[]>
  /** FINISHED and FAILED set `finishedAt`. */
  updateRegulation(id: string, update: RegulationUpdate): Promise<void>
  /**
   * RUNNING regulations nobody holds (or whose holder's claim ran out), claimed for `owner` for
   * `claimMs`; oldest first. Two instances never hold one regulation at once.
   */
  claimRegulations(owner: string, claimMs: number, limit: number): Promise<Regulation[]>
  /**
   * Holds a RUNNING regulation `owner` claimed for `claimMs` from now. Resolves false when
   * `owner` no longer holds it (another instance claimed it after `owner`'s claim ran out, it
   * finished, or it was released): the caller stops working on it. A claim that ran out and
   * nobody took is still `owner`'s and is renewed.
   */
  renewRegulationClaim(id: string, owner: string, claimMs: number): Promise<boolean>
  /**
   * Lets `owner`'s claim go, so any instance may claim the regulation at once (a runner that
   * stops half-way). Resolves false, changing nothing, when `owner` does not hold it.
   */
  releaseRegulationClaim(id: string, owner: string): Promise<boolean>

  /**
   * Adds user ids to the suppression list. From the commit on, events whose `userId` is on the
   * list never enter the queue (enqueue, admit and the move of admitted events drop them and
   * count them in `suppressedEvents`), on every instance sharing the store; the user's
   * unfinished delivery rows are skipped with the reason `reason`, and so are their dead letters
   * (keeping their finish time), so that no replay delivers them. Resolves with how many ids
   * were not on the list before, and when leases other than `owner`'s on the rows skipped run
   * out (every lease counts as another's when `owner` is not given).
   */
  suppress(userIds: string[], reason: string, owner?: string): Promise<SuppressResult>
  /** Takes user ids off the list; resolves with how many were on it. */
  unsuppress(userIds: string[]): Promise<number>
  /** Those of `userIds` on the list. */
  suppressedAmong(userIds: string[]): Promise<Set<string>>
  /** Events dropped because their user is suppressed, since the store was created. */
  suppressedEvents(): Promise<number>

  /**
   * Removes everything the store holds about these users: their delivery rows of every status
   * (samples and dead letters with them), their events inside admitted batches not yet queued
   * (the batches rewritten without them), and their identity-map links. An event is the user's
   * when its `userId` (or an alias's `previousId`) is one of `userIds`. Resolves once committed
   * and, for SQLite, once no file of the store keeps a readable copy (secure delete, the WAL
   * checkpointed and truncated). A leased row is removed too; its settlement is then ignored.
   * The result says when leases other than `owner`'s on the rows removed run out, as suppress's.
   */
  purgeUsers(userIds: string[], owner?: string): Promise<PurgeResult>
}
