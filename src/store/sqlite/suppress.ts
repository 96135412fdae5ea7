import { checkUserIds } from '../regulations'
import { cleanText } from '../rows'
import { Tally } from '../tally'
import type { SuppressResult } from '../types'
import { writeTally, type SqliteContext } from './context'
import { leasedElsewhereUntil } from './lease'
import { skipEvents } from './settle'

/**
 * An event's JSON as the scans below read it: an escaped NUL read as U+FFFD, as the store cleans
 * the ids it is given (rows.ts cleanText), so a userId holding one still matches.
 */
export const EVENT_DOC = "replace(event, '\\u0000', '\\ufffd')"

/**
 * Delivery rows in `status` whose event's `userId` is one of `ids` (a scan of the rows: a rare
 * operation, not worth an index on the ingest path). Rows whose text is not JSON (none should
 * be) are passed over rather than failing the scan.
 */
function rowsOf(ctx: SqliteContext, status: 'pending' | 'dead', ids: string[]): Array<{ id: number; destination: string }> {
  return ctx
    .q<{ id: number; destination: string }>(
      `SELECT id, destination FROM events WHERE status = ? AND json_valid(${EVENT_DOC})
          AND CAST(json_extract(${EVENT_DOC}, '$.userId') AS TEXT) IN (SELECT value FROM json_each(?)) ORDER BY id`
    )
    .all(status, JSON.stringify(ids))
}

/**
 * The users' dead letters become skipped with the reason, so no replay delivers them (replay.ts
 * also leaves alone any a suppressed user still has). Their finish time stays: retention keeps
 * them no longer than it would have kept the dead letters.
 */
function closeDeadLetters(ctx: SqliteContext, ids: string[], reason: string): void {
  const close = ctx.q(`UPDATE events SET status = 'skipped', last_error = ?, updated_at = ? WHERE id = ?`)
  const now = ctx.options.now()
  const tally = new Tally()
  for (const row of rowsOf(ctx, 'dead', ids)) {
    close.run(cleanText(reason), now, row.id)
    tally.total(row.destination, 'dead', -1)
    tally.total(row.destination, 'skipped', 1)
  }
  writeTally(ctx, tally)
}

/**
 * Inside one write: adds the users to the list (enqueue drops their events from this commit
 * on), skips their unfinished rows as `skip` does (a lease held on one is released; its
 * holder's outcome is then ignored, the row being finished) and their dead letters likewise.
 * Returns the ids new to the list, and when the leases of other owners than `owner` on the rows
 * skipped run out.
 */
export function suppressUsers(ctx: SqliteContext, userIds: string[], reason: string, owner?: string): SuppressResult {
  const ids = checkUserIds(userIds)
  if (ids.length === 0) return { added: 0 }
  const insert = ctx.q('INSERT INTO suppressed_users (user_id, since) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING')
  const now = ctx.options.now()
  let added = 0
  for (const id of ids) added += insert.run(id, now).changes
  if (added > 0) ctx.suppression.changed()
  const pending = rowsOf(ctx, 'pending', ids)
  const until = leasedElsewhereUntil(ctx, pending.map((row) => row.id), owner)
  skipEvents(ctx, pending.map((row) => ({ id: String(row.id), reason })))
  closeDeadLetters(ctx, ids, reason)
  return until === undefined ? { added } : { added, leasedElsewhereUntil: until }
}

export function unsuppressUsers(ctx: SqliteContext, userIds: string[]): number {
  const remove = ctx.q('DELETE FROM suppressed_users WHERE user_id = ?')
  let removed = 0
  for (const id of checkUserIds(userIds)) removed += remove.run(id).changes
  if (removed > 0) ctx.suppression.changed()
  return removed
}

/** The ids given (as given) that are on the list. */
export function suppressedAmong(ctx: SqliteContext, userIds: string[]): Set<string> {
  const found = new Set<string>()
  const select = ctx.q('SELECT 1 FROM suppressed_users WHERE user_id = ?')
  for (const id of new Set(userIds)) if (typeof id === 'string' && select.get(cleanText(id))) found.add(id)
  return found
}
