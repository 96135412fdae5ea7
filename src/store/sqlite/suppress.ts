import { checkUserIds } from '../regulations'
import { cleanText } from '../rows'
import type { SqliteContext } from './context'
import { skipEvents } from './settle'

/**
 * An event's JSON as the scans below read it: an escaped NUL read as U+FFFD, as the store cleans
 * the ids it is given (rows.ts cleanText), so a userId holding one still matches.
 */
export const EVENT_DOC = "replace(event, '\\u0000', '\\ufffd')"

/**
 * Unfinished delivery rows whose event's `userId` is one of `ids` (a scan of the rows: a rare
 * operation, not worth an index on the ingest path). Rows whose text is not JSON (none should
 * be) are passed over rather than failing the scan.
 */
export function pendingRowsOf(ctx: SqliteContext, ids: string[]): number[] {
  return ctx
    .q<{ id: number }>(
      `SELECT id FROM events WHERE status = 'pending' AND json_valid(${EVENT_DOC})
          AND json_extract(${EVENT_DOC}, '$.userId') IN (SELECT value FROM json_each(?)) ORDER BY id`
    )
    .all(JSON.stringify(ids))
    .map((r) => r.id)
}

/**
 * Inside one write: adds the users to the list (enqueue drops their events from this commit
 * on) and skips their unfinished rows as `skip` does (a lease held on one is released; its
 * holder's outcome is then ignored, the row being finished). Returns the ids new to the list.
 */
export function suppressUsers(ctx: SqliteContext, userIds: string[], reason: string): number {
  const ids = checkUserIds(userIds)
  if (ids.length === 0) return 0
  const insert = ctx.q('INSERT INTO suppressed_users (user_id, since) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING')
  const now = ctx.options.now()
  let added = 0
  for (const id of ids) added += insert.run(id, now).changes
  if (added > 0) ctx.suppression.changed()
  skipEvents(ctx, pendingRowsOf(ctx, ids).map((id) => ({ id: String(id), reason })))
  return added
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
