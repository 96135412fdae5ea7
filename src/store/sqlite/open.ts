import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { migrate } from './schema'

/** After a checkpoint, a WAL that grew during a burst is cut back to this size (bytes). */
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

/**
 * Opens the database file (creating its directory) or `:memory:`, sets the connection up for
 * the engine and migrates the schema.
 */
export function openDatabase(file: string): Database.Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  const db = new Database(file)
  try {
    if (file !== ':memory:') db.pragma('journal_mode = WAL')
    // NORMAL: commits write the WAL without syncing it; WalSync syncs it after each group
    // commit, off this thread, before any durable write settles (what FULL would do inline).
    db.pragma('synchronous = NORMAL')
    db.pragma('busy_timeout = 10000')
    // Checkpoints are the store's to run (checkpoint.ts), not every commit's chance.
    db.pragma('wal_autocheckpoint = 0')
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`)
    // Every delete and update zeroes what it frees (cells, whole pages), so rows that retention or
    // a deletion removes leave no readable copy in free space (erase.ts; copies left by moves of
    // rows between pages aside). Freed pages that the same transaction does not reuse are written
    // once more, as zeros.
    db.pragma('secure_delete = ON')
    migrate(db)
  } catch (error) {
    db.close()
    throw error
  }
  return db
}

/** The WAL file of a database file, or null for `:memory:`. */
export function walFileOf(file: string): string | null {
  return file === ':memory:' ? null : `${path.resolve(file)}-wal`
}
