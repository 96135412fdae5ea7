/**
 * A checked request kept as received, for the store to expand when it moves it into its queue
 * (the store's `expander`: this module). The parse thread checks a large request and hands the
 * store its text, so normalising and serialising each event happens off the answer's path. The
 * expansion is `eventsOfRequest` itself: the events are the ones the request thread would make.
 */
import type { OpaqueBatch } from '../store/serialised'
import type { NewEvent } from '../store/types'
import { ROUTES, eventsOfRequest, type Route } from './events'
import { parseJson } from './json'

type Header = [route: Route, source: string, receivedAtMs: number]

const isRoute = (value: unknown): value is Route => value === 'webhook' || (Object.values(ROUTES) as unknown[]).includes(value)

/** Checked (against the limits in force then) when it was accepted; not checked again. */
const NO_LIMITS = { maxEventBytes: Infinity, maxBatchEvents: Infinity }

/** `body`: the request body as received (after gunzip). `n`: its events, as checkRequest counted them. */
export function opaqueRequest(route: Route, source: string, receivedAt: Date, body: Uint8Array, n: number): OpaqueBatch {
  const header: Header = [route, source, receivedAt.getTime()]
  return { opaque: true, n, head: JSON.stringify(header), body }
}

/** The store's expander (StoreOptions.expander): the events of an opaque request. */
export function expand(head: string, body: Uint8Array): NewEvent[] {
  const header = JSON.parse(head) as Header
  if (!Array.isArray(header) || typeof header[0] !== 'string' || !isRoute(header[0]) || typeof header[1] !== 'string' || !Number.isFinite(header[2])) {
    throw new Error('opaque request header is not [route, source, receivedAtMs]')
  }
  const [route, source, receivedAtMs] = header
  return eventsOfRequest(route, parseJson(body), 0, source, NO_LIMITS, new Date(receivedAtMs), false)
}
