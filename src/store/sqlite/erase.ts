/**
 * Erasing what deletes left in the files of the store, after a purge (purge.ts) and after each
 * prune (prune.ts). SQLite keeps deleted bytes in three places: free space inside pages and free
 * pages, and old page images in the WAL until a checkpoint overwrites or truncates it. The
 * connection deletes with `secure_delete` on (open.ts), so whatever it frees is zeroed as it is
 * freed, and a truncating checkpoint then copies the latest pages into the database file and
 * empties the WAL. `secure_delete` does not reach a copy SQLite left in a page's unused space
 * when it moved a row between pages, nor what a store written without it (by an earlier version)
 * freed. A purge therefore also owes a VACUUM, which rebuilds the database from the rows that are
 * left; a prune does not (docs/store.md, "Retention"). The -shm file holds only the WAL's index
 * (page numbers), never row data.
 */
import type { SqliteContext } from './context'
import { VACUUM_OWED } from './purge'
import type { WriteOptions } from './write-queue'

/** The store's write queue (index.ts). */
export type Run = <T>(fn: () => T, options?: WriteOptions) => Promise<T>

/** For the message when the WAL cannot be emptied: what committed the deletes, and how to finish. */
export interface EraseOf {
  /** "the purge", "the prune". */
  what: string
  retry: string
}

/** A truncating checkpoint that finds a reader still on the WAL is tried this often, waiting longer each time. */
const CHECKPOINT_TRIES = 6
const CHECKPOINT_WAIT_MS = 250

/** The VACUUM a purge owes, if any, then a truncating checkpoint (none for `:memory:`, which has no files). */
export async function eraseDeleted(ctx: SqliteContext, run: Run, inMemory: boolean, of: EraseOf): Promise<void> {
  const owed = ctx.q<{ n: number }>(`SELECT n FROM regulation_state WHERE name = '${VACUUM_OWED}'`).get()?.n === 1
  if (owed) {
    await run(() => ctx.db.exec('VACUUM'), { outside: true })
    await run(() => ctx.q(`DELETE FROM regulation_state WHERE name = '${VACUUM_OWED}'`).run())
  }
  if (inMemory) return
  for (let attempt = 1; ; attempt++) {
    // busy: another connection still reads from the WAL (it waited busy_timeout for it first).
    const [result] = await run(() => ctx.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>, { outside: true })
    if (result.busy === 0) return
    if (attempt >= CHECKPOINT_TRIES) {
      throw new Error(
        `${of.what} is committed, but another connection kept reading the database so the WAL could not be emptied; ` +
          `close other programs that have the store open and ${of.retry}`
      )
    }
    await new Promise((resolve) => setTimeout(resolve, CHECKPOINT_WAIT_MS * attempt))
  }
}
