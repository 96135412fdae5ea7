/**
 * Keeps a suppressed user's events out of the inbox. An inbox row is written as it came, and
 * its pages keep the bytes after the move deletes it, so an event dropped only at the move would
 * still be readable in the database file or its WAL. While the list is not empty, `admit` looks
 * through each row's text for the `userId`s it names, in one pass whatever the list's length;
 * a row that names a suppressed user is expanded now and written without that user's events.
 *
 * The text is JSON: serialised events (JSON.stringify's), or an opaque batch's body, which the
 * store's expander reads as JSON in which each event names its user under a `"userId"` key
 * (ingest's expander: the request as sent, after gunzip). A nested `userId`, or one another
 * path of the event holds, only costs the expansion: enqueue's test decides what is dropped.
 */
import { userIdOf, type EnqueueInput } from '../regulations'
import { cleanText } from '../rows'
import { isOpaqueBatch, serialiseTexts, type NewEventText } from '../serialised'
import type { EnqueueResult, QueuedSummary } from '../types'
import { summariseQueued } from '../queued'
import type { SqliteContext } from './context'
import { eventsOfInput, type InboxInput } from './inbox'

/** A `"userId"` key and its value when that is a string or a number, as JSON may space them. */
const USER_ID_VALUE = /"userId"[ \t\n\r]*:[ \t\n\r]*("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*)/g

/**
 * A key written with a `\uXXXX` escape (`"user\u0049d"` is `userId` to JSON.parse): the last
 * escape of such a key is followed by letters, its closing quote and a colon. Any key of that
 * form counts as naming a suppressed user.
 */
const ESCAPED_KEY = /\\u[0-9a-fA-F]{4}[A-Za-z]*"[ \t\n\r]*:/

const NON_ASCII = /[^\x00-\x7f]/

/**
 * The id a `userId` value (JSON text) is compared as, as enqueue reads it (text; a number as
 * text), null for none, or undefined when JSON does not read it (a checked body never has one).
 * `bytes`: the value is UTF-8 read one character per byte. A string without escapes, the usual
 * one, is taken as it is, neither decoded nor parsed.
 */
function idOf(token: string, bytes: boolean): string | null | undefined {
  const json = bytes && NON_ASCII.test(token) ? Buffer.from(token, 'latin1').toString('utf8') : token
  if (json.charCodeAt(0) === 0x22 && !json.includes('\\')) return json.length === 2 ? null : cleanText(json.slice(1, -1))
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    return undefined
  }
  if (typeof value === 'string') return value === '' ? null : cleanText(value)
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined
}

/**
 * True when the JSON text may hold an event of one of `users`: a `userId` key naming one, or a
 * key it cannot read. `bytes`: the text is UTF-8 bytes read one character per byte (latin1),
 * which reads JSON's structure (ASCII) the same; a value found is decoded from its bytes.
 */
export function mayNameUsers(text: string, users: ReadonlySet<string>, bytes = false): boolean {
  // Neither a `"userId"` key nor an escape: nothing names a user.
  const escaped = text.includes('\\u')
  if (!text.includes('"userId"') && !escaped) return false
  USER_ID_VALUE.lastIndex = 0
  for (let m = USER_ID_VALUE.exec(text); m !== null; m = USER_ID_VALUE.exec(text)) {
    const id = idOf(m[1]!, bytes)
    // A value not read is looked at closely (the expansion decides).
    if (id === undefined || (id !== null && users.has(id))) return true
  }
  return escaped && ESCAPED_KEY.test(text)
}

/** Whether the row may hold an event of one of `users`. A body is read as latin1: a copy of its bytes, far cheaper than decoding UTF-8. */
function mayHoldUsers(row: InboxInput, users: ReadonlySet<string>): boolean {
  if (!isOpaqueBatch(row)) return mayNameUsers(row.events, users)
  return mayNameUsers(Buffer.from(row.body.buffer, row.body.byteOffset, row.body.byteLength).toString('latin1'), users, true)
}

/** An event as the inbox keeps it: its JSON as text, its userId beside it. */
function asText(e: EnqueueInput): NewEventText {
  return { ...e, eventJson: typeof e.eventJson === 'string' ? e.eventJson : JSON.stringify(e.event), userId: userIdOf(e) }
}

export interface KeptRows {
  /** The rows to write into the inbox: as given, or without the suppressed users' events (none left: no row). */
  rows: InboxInput[]
  /** What was dropped, per type (`onQueued`'s summary of it), or null when nothing was. */
  dropped: QueuedSummary | null
}

/**
 * Inside the write of an admit that goes to the inbox: the rows without the events of users on
 * the suppression list, the drops counted. With the list empty, the rows as given (one small
 * read). A row that names a suppressed user but cannot be expanded is kept as given: it becomes
 * a dead letter when moved, as it would have without the list (ingest checked every event, so
 * it should not occur).
 */
export function withoutSuppressed(ctx: SqliteContext, rows: InboxInput[]): KeptRows {
  const users = ctx.suppression.current()
  if (users === null) return { rows, dropped: null }
  const kept: InboxInput[] = []
  const types: string[] = []
  for (const row of rows) {
    if (!mayHoldUsers(row, users)) {
      kept.push(row)
      continue
    }
    let events: EnqueueInput[]
    try {
      events = eventsOfInput(ctx, row)
    } catch {
      kept.push(row)
      continue
    }
    const stay: EnqueueInput[] = []
    for (const e of events) {
      const userId = userIdOf(e)
      if (userId !== null && users.has(userId)) types.push(e.type)
      else stay.push(e)
    }
    if (stay.length === events.length) kept.push(row)
    else if (stay.length > 0) kept.push(serialiseTexts(stay.map(asText)))
  }
  if (types.length === 0) return { rows: kept, dropped: null }
  ctx.suppression.countDropped(types.length)
  const results: EnqueueResult[] = types.map(() => ({ id: '', duplicate: false, suppressed: true }))
  return { rows: kept, dropped: summariseQueued(types, results) }
}
