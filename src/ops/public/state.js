// @ts-check
/** What the page is showing (period, event filters, the open event) and its notice line. */
import { TokenRequired } from './api.js'
import { byId } from './dom.js'

/** A replay or a sent test event is given this long to show before the page refreshes. */
const REFRESH_AFTER_CHANGE_MS = 300

export const state = {
  period: '24h',
  /** The destination every figure, list and replay is about ('' for all of them). */
  destination: '',
  /** The events list's state filter ('' for all). */
  status: '',
  /** Text the events' reason must contain ('' for any). */
  reason: '',
  /** @type {string | null} the next, older page of events starts before this id */
  beforeId: null,
  /** While the user pages back through older events the live refresh leaves the list alone. */
  paged: false,
  /** @type {string | null} the event whose samples are open */
  detailId: null
}

/** @param {string} [text] */
export function notice(text) {
  byId('notice').textContent = text || ''
}

/** @param {unknown} err */
export function showError(err) {
  if (err instanceof Error && !(err instanceof TokenRequired)) notice(err.message)
}

/** @type {() => unknown} */
let refresh = () => undefined

/** @param {() => unknown} refreshAll how the page reloads everything it shows */
export function onRefresh(refreshAll) {
  refresh = refreshAll
}

/** After a change the relay makes in the background (a replay, a sent event). */
export function refreshSoon() {
  setTimeout(() => refresh(), REFRESH_AFTER_CHANGE_MS)
}
