import type Database from 'better-sqlite3'

/** How often (ms) the WAL is copied back into the database after commits. */
const CHECKPOINT_EVERY_MS = 1_000
/** ... and how often during an admit burst, so the commits that answer requests go first. */
const CHECKPOINT_BURST_EVERY_MS = 5_000

/**
 * Copies the WAL back into the database every CHECKPOINT_EVERY_MS, and during a burst only
 * every CHECKPOINT_BURST_EVERY_MS. (SQLite's own automatic checkpoint would run inside
 * whichever commit crossed its threshold.) A `:memory:` database has no WAL.
 */
export class Checkpoints {
  private lastAt = performance.now()

  constructor(
    private readonly db: Database.Database,
    private readonly inMemory: boolean,
    /** True while admits arrive in a burst (admit.ts). */
    private readonly inBurst: (now: number) => boolean
  ) {}

  /** After a commit: checkpoints when one is due. */
  ifDue(): void {
    if (this.inMemory) return
    const now = performance.now()
    if (now - this.lastAt < (this.inBurst(now) ? CHECKPOINT_BURST_EVERY_MS : CHECKPOINT_EVERY_MS)) return
    this.run(now)
  }

  run(now = performance.now()): void {
    if (this.inMemory) return
    this.lastAt = now
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)')
    } catch {
      // Busy (another connection) or failing: a later commit tries again.
    }
  }
}
