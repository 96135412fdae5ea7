/**
 * The inbox: where `admit` commits events, one row per call, and from where they move into the
 * queue (events, dedupe, queue_keys) in the order admitted. Writing one row per request keeps
 * the commit the ingest path waits for small; the per-event work (dedupe lookup, event row, key
 * row) happens in the move, off that path. A row that cannot be moved (it should never happen:
 * ingest validated every event) becomes one dead letter holding the row's text, so nothing is
 * lost and the inbox never stalls.
 */
import { summariseQueued } from '../queued'
import { Tally } from '../tally'
import type { EnqueueResult, NewEvent, QueuedSummary } from '../types'
import { writeTally, type SqliteContext } from './context'
import { enqueueEvents } from './enqueue'
import { eventTextsOf, isOpaqueBatch, type OpaqueBatch, type SerialisedEvents } from '../serialised'

/** What one admit call leaves in the inbox. */
export type InboxInput = SerialisedEvents | OpaqueBatch

export interface InboxRecord {
  id: number
  admitted_at: number
  kind: 'events' | 'opaque'
  n: number
  meta: string
  /** Serialised events' text, or an opaque batch's body (a BLOB). */
  events: string | Buffer
}

export function insertInboxRows(ctx: SqliteContext, rows: readonly InboxInput[]): void {
  const now = ctx.options.now()
  const insert = ctx.q('INSERT INTO inbox (admitted_at, kind, n, meta, events) VALUES (?, ?, ?, ?, ?)')
  for (const row of rows) {
    // The body as a BLOB: stored as it came, no text conversion.
    if (isOpaqueBatch(row)) insert.run(now, 'opaque', row.n, row.head, Buffer.from(row.body.buffer, row.body.byteOffset, row.body.byteLength))
    else insert.run(now, 'events', row.n, row.meta, row.events)
  }
}

/**
 * The events of an admit call, ready for enqueueEvents: opaque text expanded by the store's
 * expander, serialised events split (their JSON stays text). Throws when that cannot be done.
 */
export function eventsOfInput(ctx: SqliteContext, input: InboxInput): Array<NewEvent & { eventJson?: string }> {
  if (!isOpaqueBatch(input)) return eventTextsOf(input)
  const expander = ctx.options.expander
  if (!expander) throw new Error('the store has no expander for opaque batches (StoreOptions.expander)')
  return expander.expand(input.head, input.body)
}

export interface InboxCount {
  rows: number
  events: number
  /** When the oldest row was admitted (ms), or null when the inbox is empty. */
  oldestAt: number | null
}

export function countInbox(ctx: SqliteContext): InboxCount {
  const row = ctx.q<{ rows: number; events: number | null; oldest: number | null }>(
    'SELECT count(*) AS rows, sum(n) AS events, min(admitted_at) AS oldest FROM inbox'
  ).get()!
  return { rows: row.rows, events: row.events ?? 0, oldestAt: row.oldest }
}

export function eventsOfRow(ctx: SqliteContext, row: InboxRecord): Array<NewEvent & { eventJson?: string }> {
  if (row.kind !== 'opaque') return eventsOfInput(ctx, row as InboxRecord & { events: string })
  if (row.meta === '' && typeof row.events === 'string') {
    // The form an earlier build of this engine wrote, before opaque bodies were BLOBs: the
    // header and the body in one text, separated by the first newline.
    const cut = row.events.indexOf('\n')
    return eventsOfInput(ctx, { opaque: true, n: row.n, head: row.events.slice(0, cut), body: Buffer.from(row.events.slice(cut + 1)) })
  }
  return eventsOfInput(ctx, { opaque: true, n: row.n, head: row.meta, body: row.events as Buffer })
}

/**
 * Keeps a row that could not be moved as one dead letter per destination (each destination's
 * account of the events holds it), with the reason and the row's text; returns the reason.
 */
function deadLetterRow(ctx: SqliteContext, row: InboxRecord, error: unknown): string {
  const now = ctx.options.now()
  const reason = `inbox row ${row.id} could not be queued: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500)
  const text = JSON.stringify({ inboxRow: row.id, kind: row.kind, meta: row.meta, events: typeof row.events === 'string' ? row.events : row.events.toString('utf8') })
  const insert = ctx.q(
    `INSERT INTO events (destination, source, message_id, ordering_key, type, event, received_at, status, attempts, run_at,
       last_error, finished_at, updated_at)
     VALUES (?, 'inbox', ?, ?, 'unknown', ?, ?, 'dead', 0, ?, ?, ?, ?)`
  )
  const tally = new Tally()
  for (const destination of ctx.options.destinations) {
    insert.run(destination, `inbox-${row.id}`, `inbox-${row.id}`, text, now, now, reason, now, now)
    tally.total(destination, 'dead', 1)
    tally.outcome(destination, now, 'dead', 1)
  }
  writeTally(ctx, tally)
  return reason
}

export interface DrainResult {
  summary: QueuedSummary
  /** Rows moved. */
  rows: number
  /** Events moved (queued or found duplicate). */
  moved: number
  /** When the oldest row left was admitted (ms), or null when none is left. */
  nextAdmittedAt: number | null
  /** Rows that could not be queued and were kept as dead letters, with the reason. */
  deadLettered: Array<{ row: number; reason: string }>
}

/**
 * Moves rows, oldest first, until at least `maxEvents` events have moved or `deadline`
 * (performance.now() ms) has passed (a row is never split), or the inbox is empty. Runs inside
 * the caller's transaction.
 */
export function drainInbox(ctx: SqliteContext, maxEvents: number, deadline = Infinity): DrainResult {
  // Pages of rows (the connection cannot write while a SELECT is open), growing 1, 2, 4, ... 64:
  // a slice that stops after a few large rows reads few rows it does not use.
  const select = ctx.q<InboxRecord>('SELECT id, admitted_at, kind, n, meta, events FROM inbox WHERE id > ? ORDER BY id LIMIT ?')
  let pageSize = 1
  const remove = ctx.q('DELETE FROM inbox WHERE id <= ?')
  const types: string[] = []
  const results: EnqueueResult[] = []
  let moved = 0
  let rows = 0
  let lastId = 0
  let nextAdmittedAt: number | null = null
  const deadLettered: DrainResult['deadLettered'] = []
  for (;;) {
    const page = select.all(lastId, pageSize)
    pageSize = Math.min(64, pageSize * 2)
    if (page.length === 0) break
    for (const row of page) {
      if (moved >= maxEvents || (moved > 0 && performance.now() >= deadline)) {
        nextAdmittedAt = row.admitted_at
        break
      }
      let events: Array<NewEvent & { eventJson?: string }> | undefined
      try {
        events = eventsOfRow(ctx, row)
      } catch (error) {
        deadLettered.push({ row: row.id, reason: deadLetterRow(ctx, row, error) })
      }
      if (events) {
        for (const result of enqueueEvents(ctx, events)) results.push(result)
        for (const e of events) types.push(e.type)
      }
      moved += row.n
      rows++
      lastId = row.id
    }
    if (nextAdmittedAt !== null) break
  }
  if (rows > 0) remove.run(lastId)
  return { summary: summariseQueued(types, results), rows, moved, nextAdmittedAt, deadLettered }
}
