/**
 * From a parsed request body to the events to store: picks the events out of a single-event
 * or batch body, validates each, and normalises them. A batch is all or nothing: one bad
 * event rejects the request, and the error names the index and problem of every bad event,
 * so nothing is half-stored and the sender's retry cannot duplicate anything.
 */
import type { NewEvent } from '../store/types'
import { IngestError } from './errors'
import { normaliseEvent, requestFacts, type Envelope } from './normalise'
import { orderingKeyOf } from './ordering-key'
import { checkEach, fail, typeProblem, type Problem } from './problems'
import { countRepairs, type Repairs } from './repairs'
import { eventProblem, isEventType, isPlainObject, structuralProblem, type EventType } from './validate'
import { checkWebhook, deletionsOf, storedItems, webhookEvents } from './webhook-events'

/**
 * What a path under /v1/ ingests: one event of a type, a batch, or what Segment's Webhooks
 * destinations send (`/v1/webhook`, its own route: not in ROUTES).
 */
export type Route = TrackingRoute | 'webhook'
/** The routes of Segment's tracking API (`/v1/:kind`). */
export type TrackingRoute = EventType | 'batch'

export const ROUTES: Readonly<Record<string, TrackingRoute>> = {
  identify: 'identify', i: 'identify',
  track: 'track', t: 'track',
  page: 'page', p: 'page',
  screen: 'screen', s: 'screen',
  group: 'group', g: 'group',
  alias: 'alias', a: 'alias',
  batch: 'batch', b: 'batch', import: 'batch'
}

/** The route of a path segment under /v1/, or undefined (own keys only: "constructor" is no route). */
export function routeOf(kind: string): TrackingRoute | undefined {
  return Object.hasOwn(ROUTES, kind) ? ROUTES[kind] : undefined
}

export interface EventLimits {
  maxEventBytes: number
  maxBatchEvents: number
}

/** The write key a body carries (top level, or on a batch's first event), if any. */
export function writeKeyInBody(body: unknown): string | undefined {
  if (!isPlainObject(body)) return undefined
  if (typeof body.writeKey === 'string' && body.writeKey !== '') return body.writeKey
  if (Array.isArray(body.batch) && isPlainObject(body.batch[0])) {
    const key = body.batch[0].writeKey
    if (typeof key === 'string' && key !== '') return key
  }
  return undefined
}

/** The events of a request that passed every check, with their resolved types and the batch envelope. */
interface Checked {
  items: Array<{ raw: Record<string, unknown>; type: EventType }>
  envelope: Envelope
}

/**
 * Every check of `eventsOfRequest`, without normalising: throws the same IngestError.
 * `recheck` false: the body passed these checks when it was accepted (an opaque batch moved into
 * the queue), so only the shape needed to pick its events is looked at again.
 * `repairs`: counts what normalising will repair in the events of an accepted request.
 */
function check(route: TrackingRoute, body: unknown, bodyBytes: number, limits: EventLimits, recheck = true, repairs?: Repairs): Checked {
  if (!isPlainObject(body)) throw new IngestError(400, 'body must be a JSON object')

  if (route !== 'batch') {
    if (body.type !== undefined && body.type !== null && body.type !== route) {
      throw new IngestError(400, `type ${JSON.stringify(body.type).slice(0, 60)} does not match the endpoint, which takes ${route} events`)
    }
    if (bodyBytes > limits.maxEventBytes) {
      throw new IngestError(413, `event is ${bodyBytes} bytes; the limit is ${limits.maxEventBytes}`)
    }
    const problem = recheck ? eventProblem(body, route) : undefined
    if (problem) throw new IngestError(400, problem)
    if (repairs) countRepairs(repairs, body)
    return { items: [{ raw: body, type: route }], envelope: {} }
  }

  const batch = body.batch
  if (!Array.isArray(batch)) throw new IngestError(400, '"batch" must be an array of events')
  if (batch.length > limits.maxBatchEvents) {
    throw new IngestError(400, `batch has ${batch.length} events; at most ${limits.maxBatchEvents} are accepted per request`)
  }
  const envelope: Envelope = { context: body.context, integrations: body.integrations, sentAt: body.sentAt }
  const envelopeProblems: Problem[] = []
  for (const field of ['context', 'integrations'] as const) {
    const value = body[field]
    if (!recheck || value === undefined || value === null) continue
    const problem = isPlainObject(value) ? structuralProblem(value) : 'must be an object'
    if (problem) envelopeProblems.push({ message: `batch-level "${field}": ${problem}`, tooLarge: false })
  }
  if (envelopeProblems.length > 0) fail(envelopeProblems)

  const items: Checked['items'] = checkEach<EventType>(batch, 'batch', bodyBytes, limits.maxEventBytes, (item) => {
    if (!isPlainObject(item)) return { problem: 'event is not a JSON object' }
    const type = item.type
    if (!isEventType(type)) return { problem: typeProblem(type) }
    const problem = recheck ? eventProblem(item, type) : undefined
    return problem ? { problem } : { type }
  })
  if (repairs) {
    // Ids are read after the batch's context is merged in (normalise.ts): count them the same way.
    const outerTraits = isPlainObject(envelope.context) ? envelope.context.traits : undefined
    for (const { raw } of items) {
      const own = isPlainObject(raw.context) ? raw.context : undefined
      const inherits = outerTraits !== undefined && !(own && Object.hasOwn(own, 'traits'))
      countRepairs(repairs, raw, envelope.sentAt, inherits ? { ...raw, context: { ...own, traits: outerTraits } } : raw)
    }
  }
  return { items, envelope }
}

/**
 * How many events the request holds for the store, after every check of `eventsOfRequest` (same
 * errors, same repairs counted). `deletions` receives the userIds of its `delete` events.
 */
export function checkRequest(route: Route, body: unknown, bodyBytes: number, limits: EventLimits, repairs?: Repairs, deletions?: string[]): number {
  if (route === 'webhook') {
    const items = checkWebhook(body, bodyBytes, limits, true, repairs)
    if (deletions) deletions.push(...deletionsOf(items))
    return storedItems(items).length
  }
  return check(route, body, bodyBytes, limits, true, repairs).items.length
}

export function eventsOfRequest(
  route: Route,
  body: unknown,
  bodyBytes: number,
  source: string,
  limits: EventLimits,
  receivedAt: Date,
  /** False for a body that passed the checks when it was accepted (see `check`). */
  recheck = true,
  /** Counts what normalising repairs (repairs.ts). */
  repairs?: Repairs,
  /** Receives the userIds whose deletion the request asks for (`delete` events, /v1/webhook only). */
  deletions?: string[]
): NewEvent[] {
  if (route === 'webhook') return webhookEvents(body, bodyBytes, source, limits, receivedAt, recheck, repairs, deletions)
  const { items, envelope } = check(route, body, bodyBytes, limits, recheck, repairs)
  const facts = requestFacts(envelope, receivedAt)
  return items.map(({ raw, type }) => {
    const event = normaliseEvent(raw, type, facts)
    return { source, messageId: event.messageId, orderingKey: orderingKeyOf(event), type, event, receivedAt }
  })
}
