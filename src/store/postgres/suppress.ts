/**
 * Suppression on PostgreSQL, where several instances enqueue at once. Enqueue's one statement
 * calls suppressed_among (schema.ts, migration 5) with the group's user ids. That function takes
 * a shared advisory lock for the rest of the enqueue's transaction, then reads the list with a
 * snapshot of its own (a VOLATILE function's query sees what committed before it ran, not only
 * what the statement's snapshot holds). `suppress` adds ids under the same lock taken
 * exclusively, so every enqueue either finished before the ids went in (its rows committed, and
 * the scan for rows to skip, which follows, sees them) or reads the list after they did (and
 * drops the events). The cost on the ingest path: one function call and one index probe per
 * distinct user id of a group.
 */
import type { ResolvedStoreOptions } from '../options'
import { checkUserIds } from '../regulations'
import { cleanText } from '../rows'
import { fromSkip } from '../settlement'
import { Tally } from '../tally'
import type { LeasesTaken } from '../types'
import { lockKeys, writeTally, type Queryable } from './context'
import { noteLeasesTaken } from './lease'
import { EVENT_JSON } from './purge'
import { settle } from './settle'

const LOCK = `hashtext('csb-relay:suppress:' || current_schema())`

/** Adds the ids under the exclusive lock (its own short transaction); returns the ids new to the list. */
export async function addSuppressed(client: Queryable, options: ResolvedStoreOptions, ids: string[]): Promise<number> {
  await client.query(`SELECT pg_advisory_xact_lock(${LOCK})`)
  const { rowCount } = await client.query(
    `INSERT INTO suppressed_users (user_id, since) SELECT user_id, $2 FROM unnest($1::text[]) AS t(user_id) ORDER BY user_id COLLATE "C"
     ON CONFLICT (user_id) DO NOTHING`,
    [ids, options.now()]
  )
  return rowCount ?? 0
}

/**
 * The users' dead letters become skipped with the reason, so no replay delivers them (replay.ts
 * also leaves alone any a suppressed user still has). A dead letter keeps its finish time:
 * retention keeps it no longer than it would have. Its own transaction, after the ids committed
 * and before the unfinished rows are skipped: a replay that revived one of them before this
 * locked it has committed by then, and that scan finds the row pending.
 */
export async function closeDeadLetters(client: Queryable, options: ResolvedStoreOptions, ids: string[], reason: string): Promise<void> {
  const { rows: closed } = await client.query<{ destination: string; n: number }>(
    `WITH closed AS (
       UPDATE events SET status = 'skipped', last_error = $2, updated_at = $3
        WHERE id IN (SELECT id FROM events WHERE status = 'dead' AND (${EVENT_JSON} ->> 'userId') IN (SELECT unnest($1::text[])) ORDER BY id FOR UPDATE)
          AND status = 'dead'
       RETURNING destination
     )
     SELECT destination, count(*)::int AS n FROM closed GROUP BY destination`,
    [ids, reason, options.now()]
  )
  const tally = new Tally()
  for (const { destination, n } of closed) {
    tally.total(destination, 'dead', -n)
    tally.total(destination, 'skipped', n)
  }
  await writeTally(client, tally)
}

/**
 * Skips the users' unfinished rows as `skip` does (in a transaction after the ids committed),
 * noting in `taken` the leases of owners other than `owner` it takes away: their keys are locked
 * first, so no lease on them changes meanwhile. A scan of the rows: a rare operation, not worth
 * an index on the ingest path.
 */
export async function skipSuppressed(
  client: Queryable, options: ResolvedStoreOptions, ids: string[], reason: string, owner: string | undefined, taken: LeasesTaken
): Promise<void> {
  const { rows } = await client.query<{ id: number; destination: string; ordering_key: string }>(
    `SELECT id, destination, ordering_key FROM events WHERE status = 'pending' AND (${EVENT_JSON} ->> 'userId') IN (SELECT unnest($1::text[])) ORDER BY id`,
    [ids]
  )
  if (rows.length === 0) return
  await lockKeys(client, rows.map((r) => ({ destination: r.destination, orderingKey: r.ordering_key })))
  await noteLeasesTaken(client, options, rows.map((r) => Number(r.id)), owner, taken)
  await settle(client, options, fromSkip(rows.map((r) => ({ id: String(r.id), reason }))))
}

export async function removeSuppressed(db: Queryable, userIds: string[]): Promise<number> {
  const ids = checkUserIds(userIds)
  if (ids.length === 0) return 0
  const { rowCount } = await db.query('DELETE FROM suppressed_users WHERE user_id IN (SELECT unnest($1::text[]))', [ids])
  return rowCount ?? 0
}

/** The ids given (as given) that are on the list. */
export async function suppressedAmong(db: Queryable, userIds: string[]): Promise<Set<string>> {
  const given = userIds.filter((id) => typeof id === 'string')
  const found = new Set<string>()
  if (given.length === 0) return found
  const { rows } = await db.query<{ user_id: string }>('SELECT user_id FROM suppressed_users WHERE user_id IN (SELECT unnest($1::text[]))', [given])
  const listed = new Set(rows.map((r) => r.user_id))
  for (const id of given) if (listed.has(cleanText(id))) found.add(id)
  return found
}

export async function suppressedEvents(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number | null }>('SELECT sum(n)::bigint AS n FROM suppressed_counts')
  return Number(rows[0].n ?? 0)
}
