import { randomInt } from 'node:crypto'
import type Database from 'better-sqlite3'

type Prepare = <R = unknown>(sql: string) => Database.Statement<unknown[], R>

/** regulation_state rows: a stamp that changes with the list, and the events dropped so far. */
const STAMP = 'suppression_stamp'
const DROPPED = 'suppressed_events'

/**
 * The suppression list as enqueue sees it: held in memory, and read again from the table when
 * its stamp has changed (a change made by this connection, or by another process on the file).
 * A check costs one small read per enqueue call, and nothing per event while the list is empty.
 * The stamp is random, not a counter, so a change rolled back and another committed never look
 * alike.
 */
export class SuppressionList {
  private stamp: number | null = null
  private users = new Set<string>()

  constructor(private readonly q: Prepare) {}

  /** Inside a transaction: the suppressed user ids, or null when there are none. */
  current(): ReadonlySet<string> | null {
    const stamp = this.q<{ n: number }>(`SELECT n FROM regulation_state WHERE name = '${STAMP}'`).get()?.n ?? 0
    if (stamp !== this.stamp) {
      this.users = new Set(this.q<{ user_id: string }>('SELECT user_id FROM suppressed_users').all().map((r) => r.user_id))
      this.stamp = stamp
    }
    return this.users.size > 0 ? this.users : null
  }

  /** Inside the transaction that changed the list. */
  changed(): void {
    this.q(`INSERT INTO regulation_state (name, n) VALUES ('${STAMP}', ?) ON CONFLICT (name) DO UPDATE SET n = excluded.n`).run(randomInt(1, 2 ** 47))
  }

  /** Inside the transaction that dropped them. */
  countDropped(n: number): void {
    if (n > 0) this.q(`INSERT INTO regulation_state (name, n) VALUES ('${DROPPED}', ?) ON CONFLICT (name) DO UPDATE SET n = n + excluded.n`).run(n)
  }

  dropped(): number {
    return this.q<{ n: number }>(`SELECT n FROM regulation_state WHERE name = '${DROPPED}'`).get()?.n ?? 0
  }
}
