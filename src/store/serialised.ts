import type { NewEvent } from './types'

/**
 * Events serialised for `admit`: a few strings, which cross threads as one copy each and which
 * the SQLite engine stores as they are (one inbox row per call). Built by `serialiseEvents`,
 * possibly on another thread than the store's (ingest's parse thread).
 */
export interface SerialisedEvents {
  /** Events held. */
  n: number
  /**
   * JSON: one `[source, messageId, orderingKey, type, receivedAtMs, userId]` per event (null for
   * an invalid receivedAt, and for no userId), so that the store can tell a suppressed user's
   * events without parsing them. Rows an earlier build wrote have five entries (no userId).
   */
  meta: string
  /**
   * Each event's JSON text, joined by "\n". JSON.stringify without indentation never writes a
   * raw newline (newlines inside strings are escaped), so splitting on "\n" gives them back.
   */
  events: string
}

/**
 * Events admitted in a form only the store's `expander` (StoreOptions) understands: typically a
 * request body as received, checked but not yet normalised, and a short header about the
 * request. Cheapest to admit: the bytes move between threads without a copy (transfer their
 * buffer) and are stored as they are; the store expands them when it moves them into the queue.
 */
export interface OpaqueBatch {
  opaque: true
  /** Events it holds (for counts and backpressure). */
  n: number
  head: string
  body: Uint8Array
}

export type Expand = (head: string, body: Uint8Array) => NewEvent[]

export function isOpaqueBatch(value: unknown): value is OpaqueBatch {
  const v = value as OpaqueBatch
  return typeof v === 'object' && v !== null && v.opaque === true && typeof v.n === 'number' && typeof v.head === 'string' && v.body instanceof Uint8Array
}

/**
 * True when the view spans all of its (non-shared) buffer, so that buffer can be transferred to
 * another thread. A small Buffer shares Node's pool: transferring that would empty its neighbours.
 */
export function ownsBuffer(view: Uint8Array): boolean {
  return view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength
}

/** The buffers a message can move to another thread instead of copying: each view's that owns its whole buffer, once. */
export function movableBuffers(views: readonly Uint8Array[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>()
  for (const view of views) if (ownsBuffer(view)) buffers.add(view.buffer as ArrayBuffer)
  return [...buffers]
}

/** The `expand` function of the module at `path` (StoreOptions.expander). */
export function loadExpander(path: string): Expand {
  // TypeScript sources (tests, tsx) load through tsx, as the worker threads' entries do.
  if (path.endsWith('.ts')) require('tsx/cjs')
  const expand = (require(path) as { expand?: unknown }).expand
  if (typeof expand !== 'function') throw new TypeError(`store expander ${path} does not export an expand(head, body) function`)
  return expand as Expand
}

export type SerialisedMeta = [source: string, messageId: string, orderingKey: string, type: string, receivedAtMs: number | null, userId?: string | null]

/**
 * A NewEvent whose event is still JSON text (`eventJson`; `event` is undefined): what the
 * engines' enqueue takes as it is, inserting the text without parsing it. `userId` is the
 * event's, when it was serialised with it (undefined: not known without parsing).
 */
export type NewEventText = NewEvent & { eventJson: string; userId?: string | null }

/** The userId an event carries, as text (ingest normalises numbers to text), or null. */
function userIdText(event: NewEvent['event']): string | null {
  const id = event?.userId as unknown
  if (typeof id === 'string') return id === '' ? null : id
  return typeof id === 'number' && Number.isFinite(id) ? String(id) : null
}

export function isSerialisedEvents(value: unknown): value is SerialisedEvents {
  const v = value as SerialisedEvents
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v.n === 'number' && typeof v.meta === 'string' && typeof v.events === 'string'
}

export function serialiseEvents(events: readonly NewEvent[]): SerialisedEvents {
  const meta: SerialisedMeta[] = new Array(events.length)
  const texts: string[] = new Array(events.length)
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    const receivedAtMs = e.receivedAt.getTime()
    // An invalid Date (NaN) would become null in JSON anyway; it stays invalid on the way back.
    meta[i] = [e.source, e.messageId, e.orderingKey, e.type, Number.isNaN(receivedAtMs) ? null : receivedAtMs, userIdText(e.event)]
    const text = JSON.stringify(e.event)
    if (typeof text !== 'string') throw new TypeError(`event ${i} cannot be serialised as JSON`)
    texts[i] = text
  }
  return { n: events.length, meta: JSON.stringify(meta), events: texts.join('\n') }
}

/** The events back, their JSON left as text. Throws when the strings do not hold what `n` says. */
export function eventTextsOf(serialised: SerialisedEvents): NewEventText[] {
  const meta = JSON.parse(serialised.meta) as SerialisedMeta[]
  const texts = serialised.n === 0 ? [] : serialised.events.split('\n')
  if (!Array.isArray(meta) || meta.length !== serialised.n || texts.length !== serialised.n) {
    throw new Error(`serialised events hold ${Array.isArray(meta) ? meta.length : '?'} ids and ${texts.length} events where n is ${serialised.n}`)
  }
  return meta.map((m, i) => {
    const ok =
      Array.isArray(m) && (m.length === 5 || (m.length === 6 && (m[5] === null || typeof m[5] === 'string'))) && typeof m[0] === 'string' &&
      typeof m[1] === 'string' && typeof m[2] === 'string' && typeof m[3] === 'string' && (m[4] === null || Number.isFinite(m[4]))
    if (!ok) throw new Error(`serialised entry ${i} is not [source, messageId, orderingKey, type, receivedAtMs, userId]`)
    const [source, messageId, orderingKey, type, receivedAtMs] = m
    const e: NewEventText = { source, messageId, orderingKey, type, receivedAt: new Date(receivedAtMs ?? NaN), event: undefined as never, eventJson: texts[i]! }
    if (m.length === 6) e.userId = m[5]
    return e
  })
}

/** Events whose JSON is text already, serialised again (the SQLite purge rewrites an inbox row with them). */
export function serialiseTexts(events: readonly NewEventText[]): SerialisedEvents {
  const meta: SerialisedMeta[] = events.map((e) => {
    const receivedAtMs = e.receivedAt.getTime()
    const userId = e.userId !== undefined ? e.userId : userIdText(JSON.parse(e.eventJson) as NewEvent['event'])
    return [e.source, e.messageId, e.orderingKey, e.type, Number.isNaN(receivedAtMs) ? null : receivedAtMs, userId]
  })
  return { n: events.length, meta: JSON.stringify(meta), events: events.map((e) => e.eventJson).join('\n') }
}

/** The events back as NewEvents (for engines that take objects). */
export function deserialiseEvents(serialised: SerialisedEvents): NewEvent[] {
  return eventTextsOf(serialised).map(({ eventJson, userId: _userId, ...rest }) => ({ ...rest, event: JSON.parse(eventJson) as NewEvent['event'] }))
}
