/**
 * The PostgreSQL purge: the users' rows are found in one scan, then deleted in chunks, one
 * transaction each (keys locked first, the lock order of every transaction), each chunk putting
 * its keys and totals right in the same transaction; then their identity links go, and other
 * rows' samples that name them are cleared. Rows are
 * gone from every query once a chunk commits; their dead tuples stay in the table files until
 * vacuum reclaims them (docs/store.md).
 */
import type { ResolvedStoreOptions } from '../options'
import { CSB_USER_ID_PATHS, sampleMarks } from '../regulations'
import { cleanText } from '../rows'
import { PRUNE_CHUNK } from '../rows'
import { Tally } from '../tally'
import type { LeasesTaken } from '../types'
import { lockKeys, refreshKeys, type KeyName, type Queryable } from './context'
import { noteLeasesTaken } from './lease'

/**
 * An event's JSON as the scans read it. PostgreSQL's json refuses two escapes JSON.stringify
 * writes (an escaped NUL, and an escaped lone surrogate, the only kind it escapes): they are read
 * as U+FFFD, as the store cleans the ids it is given (rows.ts cleanText), so one odd row neither
 * fails the scan nor hides a userId holding one.
 */
export const EVENT_JSON = `(CASE WHEN strpos(event, '\\u') > 0
  THEN regexp_replace(event, '\\\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})', '\\\\ufffd', 'g') ELSE event END)::json`

/** Ids of the rows whose event is one of the users': their `userId`, or an alias's `previousId`. */
export async function rowsOfUsers(db: Queryable, users: string[]): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT id FROM events
      WHERE (${EVENT_JSON} ->> 'userId') IN (SELECT unnest($1::text[]))
         OR (type = 'alias' AND (${EVENT_JSON} ->> 'previousId') IN (SELECT unnest($1::text[])))
      ORDER BY id`,
    [users]
  )
  return rows.map((r) => Number(r.id))
}

export const PURGE_CHUNK = PRUNE_CHUNK

/** The CSB user ids (strings and numbers, as text) the events of these rows name. */
async function csbUserIdsOf(client: Queryable, ids: number[]): Promise<string[]> {
  const paths = CSB_USER_ID_PATHS.map((path) => `d.doc #> '{${[...path, 'user_id'].join(',')}}'`).join(', ')
  const { rows } = await client.query<{ user_id: string }>(
    `SELECT DISTINCT x.v #>> '{}' AS user_id
       FROM events CROSS JOIN LATERAL (SELECT ${EVENT_JSON} AS doc) d CROSS JOIN LATERAL unnest(ARRAY[${paths}]) AS x(v)
      WHERE id = ANY($1::bigint[]) AND json_typeof(x.v) IN ('string', 'number') AND x.v #>> '{}' <> ''`,
    [ids]
  )
  return rows.map((r) => cleanText(r.user_id))
}

/**
 * One chunk, in a transaction: deletes the rows (whatever their status by then), releases the
 * leases they held, moves their keys' heads on and takes them off the totals. Adds the identity
 * keys what it deleted names (ordering keys, CSB user ids) to `linkKeys`, and to `taken` the
 * leases of owners other than `owner` it took away; returns how many rows it deleted.
 */
export async function purgeChunk(
  client: Queryable, options: ResolvedStoreOptions, ids: number[], linkKeys: Set<string>, owner: string | undefined, taken: LeasesTaken
): Promise<number> {
  const { rows: names } = await client.query<{ destination: string; ordering_key: string }>(
    'SELECT DISTINCT destination, ordering_key FROM events WHERE id = ANY($1::bigint[])',
    [ids]
  )
  const keys: KeyName[] = names.map((k) => ({ destination: k.destination, orderingKey: k.ordering_key }))
  await lockKeys(client, keys)
  await noteLeasesTaken(client, options, ids, owner, taken)
  for (const id of await csbUserIdsOf(client, ids)) linkKeys.add(id)
  const { rows: gone } = await client.query<{ id: number; destination: string; ordering_key: string; status: string; attempts: number }>(
    'DELETE FROM events WHERE id = ANY($1::bigint[]) RETURNING id, destination, ordering_key, status, attempts',
    [ids]
  )
  if (gone.length === 0) return 0
  const tally = new Tally()
  const touched: KeyName[] = []
  for (const row of gone) {
    linkKeys.add(row.ordering_key)
    if (row.status === 'pending') {
      touched.push({ destination: row.destination, orderingKey: row.ordering_key })
      tally.total(row.destination, Tally.unfinished(Number(row.attempts)), -1)
    } else tally.total(row.destination, row.status as 'delivered' | 'dead' | 'skipped', -1)
  }
  // The deleted rows are no longer pending, so each key's head is its next pending event; a key
  // whose lease a deleted row held is released.
  await refreshKeys(client, touched, tally, gone.map((r) => Number(r.id)))
  return gone.length
}

export async function unlinkIdentities(db: Queryable, userKeys: string[]): Promise<number> {
  if (userKeys.length === 0) return 0
  const { rowCount } = await db.query('DELETE FROM identities WHERE user_key IN (SELECT unnest($1::text[]))', [[...new Set(userKeys)]])
  return rowCount ?? 0
}

/**
 * Other users' rows keep the samples of a whole batch sent together, which may hold these users'
 * data: such samples go (set to NULL; the rows stay). Returns how many rows lost them.
 */
export async function clearSamples(db: Queryable, users: string[]): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE events SET samples = NULL
      WHERE samples IS NOT NULL AND EXISTS (SELECT 1 FROM unnest($1::text[]) AS m(mark) WHERE strpos(samples, m.mark) > 0)`,
    [sampleMarks(users)]
  )
  return rowCount ?? 0
}
