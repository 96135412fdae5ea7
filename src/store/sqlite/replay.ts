import { cleanOptional, parseId } from '../rows'
import { Tally } from '../tally'
import type { ReplayFilter } from '../types'
import { refreshKey, writeTally, type SqliteContext } from './context'

/**
 * Makes matching dead letters pending again with attempts reset. An event keeps its id, so it
 * goes back into its key's queue at its original position: ahead of any later event of that
 * key not yet leased (a lease in progress finishes first).
 */
export function replayEvents(ctx: SqliteContext, filter: ReplayFilter): number {
  const now = ctx.options.now()
  const reason = cleanOptional(filter.reason)
  let targets: Array<{ id: number; ordering_key: string }>
  if (filter.ids && filter.ids.length > 0) {
    const select = ctx.q<{ id: number; ordering_key: string }>(
      `SELECT id, ordering_key FROM events WHERE id = ? AND status = 'dead' AND (? IS NULL OR instr(COALESCE(last_error, ''), ?) > 0)`
    )
    const ids = [...new Set(filter.ids.map(parseId).filter((id): id is number => id !== null))].sort((a, b) => a - b)
    targets = ids.flatMap((id) => select.all(id, reason, reason))
  } else if (filter.all) {
    targets = ctx
      .q<{ id: number; ordering_key: string }>(
        `SELECT id, ordering_key FROM events WHERE status = 'dead' AND (? IS NULL OR instr(COALESCE(last_error, ''), ?) > 0) ORDER BY id`
      )
      .all(reason, reason)
  } else return 0
  const revive = ctx.q(
    `UPDATE events SET status = 'pending', attempts = 0, run_at = ?, first_failed_at = NULL, finished_at = NULL,
       last_error = NULL, updated_at = ? WHERE id = ?`
  )
  const keys = new Set<string>()
  for (const t of targets) {
    revive.run(now, now, t.id)
    keys.add(t.ordering_key)
  }
  for (const key of keys) refreshKey(ctx, key)
  const tally = new Tally()
  tally.total('dead', -targets.length)
  tally.total('new', targets.length)
  writeTally(ctx, tally)
  return targets.length
}
