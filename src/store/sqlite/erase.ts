/**
 * Erasing what a purge deleted from every file of the store (purge.ts). SQLite keeps deleted
 * bytes in three places: free space inside pages and free pages (rows rewritten by earlier
 * updates, inbox rows freed by their move, overflow pages: `secure_delete` zeroes only what is
 * deleted while it is on), and old page images in the WAL until a checkpoint overwrites or
 * truncates it. VACUUM rebuilds the database from the rows that are left, so no free page or
 * free space holds an old byte, and a truncating checkpoint then copies the rebuilt pages into
 * the database file, cuts it to its new size and empties the WAL. The -shm file holds only the
 * WAL's index (page numbers), never row data.
 */
import type { SqliteContext } from './context'
import { VACUUM_OWED } from './purge'
import type { WriteOptions } from './write-queue'

type Run = <T>(fn: () => T, options?: WriteOptions) => Promise<T>

/** A truncating checkpoint that finds a reader still on the WAL is tried this often, waiting longer each time. */
const CHECKPOINT_TRIES = 6
const CHECKPOINT_WAIT_MS = 250

export async function eraseDeleted(ctx: SqliteContext, run: Run, inMemory: boolean): Promise<void> {
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
        'the purge is committed, but another connection kept reading the database so the WAL could not be emptied; ' +
          'close other programs that have the store open and run the regulation again'
      )
    }
    await new Promise((resolve) => setTimeout(resolve, CHECKPOINT_WAIT_MS * attempt))
  }
}
