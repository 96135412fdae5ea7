/**
 * The SQLite purge (StoreRegulations.purgeUsers): in one write, the users' delivery rows go
 * (keys, leases and totals kept consistent), their events leave the inbox rows not yet moved
 * (each rewritten without them), their identity links go, and other rows' samples that name
 * them are cleared. The deletes run with `secure_delete` on, as every write of the connection
 * does (open.ts); the WAL, and what secure_delete does not reach, are erased afterwards by the
 * store (erase.ts: VACUUM, then a truncating checkpoint), which this write asks for in
 * regulation_state.
 */
import { CSB_USER_ID_PATHS, csbUserIdsOf, isUsersEvent, sampleMarks, textMentionsUsers, userIdOf, type EnqueueInput } from '../regulations'
import { cleanText } from '../rows'
import { serialiseTexts, type NewEventText } from '../serialised'
import { Tally } from '../tally'
import type { PurgeResult } from '../types'
import { keyId, refreshKey, splitKeyId, writeTally, type SqliteContext } from './context'
import { eventsOfRow, type InboxRecord } from './inbox'
import { leasedElsewhereUntil } from './lease'
import { EVENT_DOC } from './suppress'

/** regulation_state: 1 while a purge's VACUUM is owed. */
export const VACUUM_OWED = 'purge_vacuum_owed'

export interface PurgeOutcome extends PurgeResult {
  /** Inbox rows deleted (all their events were the users'), for the admitter's hints. */
  inboxRows: number
}

interface Target {
  id: number
  destination: string
  ordering_key: string
  status: string
  attempts: number
  /** Set for inbox rows kept as dead letters: their text, checked in JS. */
  text: string | null
  /** The CSB user ids the event names (CSB_USER_ID_PATHS), as JSON text of an array of strings. */
  csb_ids: string | null
}

/** The event's CSB user ids (strings and numbers, as text), as a JSON array. */
const CSB_IDS = `(SELECT json_group_array(CAST(value AS TEXT)) FROM (${CSB_USER_ID_PATHS.map(
  (path) => `SELECT json_extract(${EVENT_DOC}, '$.${path.join('.')}.user_id') AS value, json_type(${EVENT_DOC}, '$.${path.join('.')}.user_id') AS kind`
).join(' UNION ALL ')}) WHERE kind IN ('text', 'integer', 'real') AND value <> '')`

/** The text of an inbox row kept as a dead letter (inbox.ts deadLetterRow), what it held. */
function deadInboxText(text: string): string {
  try {
    const held = JSON.parse(text) as { meta?: unknown; events?: unknown }
    return `${String(held.meta ?? '')}\n${String(held.events ?? '')}`
  } catch {
    return text
  }
}

/**
 * Deletes the users' delivery rows; adds the identity keys they name (ordering key, CSB user ids)
 * to `linkKeys`. Returns how many it deleted, and when the leases of other owners than `owner`
 * on them run out.
 */
function deleteRows(ctx: SqliteContext, users: string[], linkKeys: Set<string>, owner: string | undefined): { count: number; until: number | undefined } {
  const targets = ctx
    .q<Target>(
      `SELECT id, destination, ordering_key, status, attempts,
              CASE WHEN source = 'inbox' AND type = 'unknown' THEN event END AS text,
              CASE WHEN json_valid(${EVENT_DOC}) THEN ${CSB_IDS} END AS csb_ids
         FROM events
        WHERE (source = 'inbox' AND type = 'unknown')
           OR (json_valid(${EVENT_DOC}) AND (CAST(json_extract(${EVENT_DOC}, '$.userId') AS TEXT) IN (SELECT value FROM json_each(@users))
               OR (type = 'alias' AND CAST(json_extract(${EVENT_DOC}, '$.previousId') AS TEXT) IN (SELECT value FROM json_each(@users)))))`
    )
    .all({ users: JSON.stringify(users) })
    .filter((t) => t.text === null || textMentionsUsers(deadInboxText(t.text), users))
  const until = leasedElsewhereUntil(ctx, targets.filter((t) => t.status === 'pending').map((t) => t.id), owner)
  const remove = ctx.q('DELETE FROM events WHERE id = ?')
  const tally = new Tally()
  const keys = new Set<string>()
  const removed = new Set<number>()
  for (const t of targets) {
    remove.run(t.id)
    removed.add(t.id)
    linkKeys.add(t.ordering_key)
    for (const id of t.csb_ids === null ? [] : (JSON.parse(t.csb_ids) as string[])) linkKeys.add(cleanText(id))
    if (t.status === 'pending') {
      keys.add(keyId(t.destination, t.ordering_key))
      tally.total(t.destination, Tally.unfinished(t.attempts), -1)
    } else tally.total(t.destination, t.status as 'delivered' | 'dead' | 'skipped', -1)
  }
  // A key whose leased event is gone is free again; its head moves to its next pending event.
  const release = ctx.q(
    `UPDATE queue_keys SET leased_event_id = NULL, leased_until = NULL, lease_owner = NULL, lease_token = NULL
      WHERE destination = ? AND ordering_key = ?`
  )
  for (const key of keys) {
    const [destination, orderingKey] = splitKeyId(key)
    const row = ctx.s.keyGet.get(destination, orderingKey)
    if (row?.leased_event_id !== null && row?.leased_event_id !== undefined && removed.has(Number(row.leased_event_id))) {
      release.run(destination, orderingKey)
    }
    refreshKey(ctx, destination, orderingKey)
  }
  writeTally(ctx, tally)
  return { count: targets.length, until }
}

/** An event of an inbox row with its JSON as text, as a rewritten row holds it. */
function asText(e: EnqueueInput): NewEventText {
  if (typeof e.eventJson === 'string') return { ...e, eventJson: e.eventJson, userId: userIdOf(e) }
  return { ...e, eventJson: JSON.stringify(e.event), userId: userIdOf(e) }
}

/** The raw text of an inbox row, for one that cannot be read as events. */
const rowText = (row: InboxRecord): string => `${row.meta}\n${typeof row.events === 'string' ? row.events : row.events.toString('utf8')}`

/** Rewrites the inbox rows holding the users' events without them, in place (ids, so order, kept). */
function purgeInbox(ctx: SqliteContext, users: string[], linkKeys: Set<string>): { events: number; rows: number } {
  const set = new Set(users)
  const page = ctx.q<InboxRecord>('SELECT id, admitted_at, kind, n, meta, events FROM inbox WHERE id > ? ORDER BY id LIMIT 16')
  const rewrite = ctx.q("UPDATE inbox SET kind = 'events', n = ?, meta = ?, events = ? WHERE id = ?")
  const remove = ctx.q('DELETE FROM inbox WHERE id = ?')
  let events = 0
  let rows = 0
  for (let lastId = 0; ; ) {
    const records = page.all(lastId)
    if (records.length === 0) break
    for (const row of records) {
      lastId = row.id
      let held: EnqueueInput[]
      try {
        held = eventsOfRow(ctx, row)
      } catch {
        // A row that cannot be read becomes a dead letter when moved: it goes now if it names them.
        if (textMentionsUsers(rowText(row), users)) {
          remove.run(row.id)
          events += row.n
          rows++
        }
        continue
      }
      const kept = held.filter((e) => !isUsersEvent(e, set))
      if (kept.length === held.length) continue
      for (const e of held) if (!kept.includes(e)) for (const key of [e.orderingKey, ...csbUserIdsOf(e)]) linkKeys.add(key)
      events += held.length - kept.length
      if (kept.length === 0) {
        remove.run(row.id)
        rows++
        continue
      }
      const text = serialiseTexts(kept.map(asText))
      rewrite.run(text.n, text.meta, text.events, row.id)
    }
  }
  return { events, rows }
}

/**
 * Other users' rows keep the samples of a whole batch sent together, which may hold these users'
 * data: such samples go (set to NULL; the rows stay). Returns how many rows lost them.
 */
function clearSamples(ctx: SqliteContext, users: string[]): number {
  return ctx
    .q(
      `UPDATE events SET samples = NULL
        WHERE samples IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(@marks) WHERE instr(samples, value) > 0)`
    )
    .run({ marks: JSON.stringify(sampleMarks(users)) }).changes
}

/** Runs inside one write transaction. */
export function purgeUsers(ctx: SqliteContext, users: string[], owner?: string): PurgeOutcome {
  const linkKeys = new Set<string>()
  const rows = deleteRows(ctx, users, linkKeys, owner)
  const inbox = purgeInbox(ctx, users, linkKeys)
  clearSamples(ctx, users)
  const unlink = ctx.q('DELETE FROM identities WHERE user_key = ?')
  let identityLinks = 0
  for (const key of new Set([...users, ...linkKeys])) identityLinks += unlink.run(key).changes
  // Owed even when nothing was found: copies SQLite left when it moved rows between pages, and
  // what a store written without secure_delete (an earlier version) freed, stay until a rebuild.
  ctx.q(`INSERT INTO regulation_state (name, n) VALUES ('${VACUUM_OWED}', 1) ON CONFLICT (name) DO UPDATE SET n = 1`).run()
  const result: PurgeOutcome = { events: rows.count, admittedEvents: inbox.events, identityLinks, inboxRows: inbox.rows }
  if (rows.until !== undefined) result.leasedElsewhereUntil = rows.until
  return result
}
