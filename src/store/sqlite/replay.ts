import { cleanOptional, parseId } from '../rows'
import { Tally } from '../tally'
import type { ReplayFilter } from '../types'
import { keyId, refreshKey, splitKeyId, writeTally, type SqliteContext } from './context'
import { EVENT_DOC } from './suppress'

interface Target {
  id: number
  destination: string
  ordering_key: string
}

/**
 * A suppressed user's dead letter is never replayed: suppress closes them (suppress.ts), and one
 * still dead (a store an earlier version of the relay suppressed in) stays dead rather than being
 * delivered.
 */
const NOT_SUPPRESSED = `NOT (EXISTS (SELECT 1 FROM suppressed_users) AND json_valid(${EVENT_DOC})
  AND CAST(json_extract(${EVENT_DOC}, '$.userId') AS TEXT) IN (SELECT user_id FROM suppressed_users))`

const MATCH = `status = 'dead' AND (? IS NULL OR instr(COALESCE(last_error, ''), ?) > 0) AND (? IS NULL OR destination = ?) AND ${NOT_SUPPRESSED}`

/**
 * Makes matching dead letters (but a suppressed user's) pending again with attempts reset. An
 * event keeps its id, so it goes back into its key's queue at its destination at its original
 * position: ahead of any later event of that key not yet leased (a lease in progress finishes
 * first).
 */
export function replayEvents(ctx: SqliteContext, filter: ReplayFilter): number {
  const now = ctx.options.now()
  const reason = cleanOptional(filter.reason)
  const destination = cleanOptional(filter.destination)
  const params = [reason, reason, destination, destination]
  let targets: Target[]
  if (filter.ids && filter.ids.length > 0) {
    const select = ctx.q<Target>(`SELECT id, destination, ordering_key FROM events WHERE id = ? AND ${MATCH}`)
    const ids = [...new Set(filter.ids.map(parseId).filter((id): id is number => id !== null))].sort((a, b) => a - b)
    targets = ids.flatMap((id) => select.all(id, ...params))
  } else if (filter.all) {
    targets = ctx.q<Target>(`SELECT id, destination, ordering_key FROM events WHERE ${MATCH} ORDER BY id`).all(...params)
  } else return 0
  const revive = ctx.q(
    `UPDATE events SET status = 'pending', attempts = 0, run_at = ?, first_failed_at = NULL, finished_at = NULL,
       last_error = NULL, updated_at = ? WHERE id = ?`
  )
  const keys = new Set<string>()
  const tally = new Tally()
  for (const t of targets) {
    revive.run(now, now, t.id)
    keys.add(keyId(t.destination, t.ordering_key))
    tally.total(t.destination, 'dead', -1)
    tally.total(t.destination, 'new', 1)
  }
  for (const key of keys) refreshKey(ctx, ...splitKeyId(key))
  writeTally(ctx, tally)
  return targets.length
}
