// @ts-check
/**
 * The admin API under /api/, as the dashboard uses it. When the relay has an admin token the
 * page asks for it once, keeps it in this tab's session storage and sends it as
 * `Authorization: Bearer` with every call.
 */

/** @typedef {'ingested' | 'delivered' | 'retrying' | 'dead' | 'skipped'} Outcome */
/** @typedef {Record<Outcome, number>} Totals */
/** @typedef {Totals & { at: string }} SeriesPoint */
/** @typedef {{ destination: string, reason: string, status: string, count: number, lastAt: string, fix: string }} Reason */
/**
 * @typedef {object} DestinationRow
 * @property {string} name
 * @property {{ total: number, retrying: number, oldestWaitingSeconds: number | null }} backlog
 * @property {{ delivered: number, dead: number, skipped: number }} stored
 */
/**
 * @typedef {object} Overview
 * @property {string} period
 * @property {number} bucketSeconds
 * @property {Totals} totals
 * @property {Totals} perMinute events per minute over the period
 * @property {{ total: number, retrying: number, oldestWaitingSeconds: number | null }} backlog
 * @property {{ p50Ms: number | null, p95Ms: number | null }} latency
 * @property {number | null} successRate delivered ÷ (delivered + dead), 0..1; skips left out
 * @property {SeriesPoint[]} series
 * @property {Reason[]} reasons
 * @property {string | null} retention what the store keeps and for how long
 * @property {string | null} destination the destination the figures are about, or null for all
 * @property {DestinationRow[]} destinations
 * @property {number} suppressedEvents events of suppressed users dropped since the store was created
 */
/**
 * @typedef {object} Regulation
 * @property {string} id
 * @property {string} regulationType
 * @property {number} subjectCount
 * @property {string} status RUNNING, FINISHED or FAILED
 * @property {string} origin api, cli or event
 * @property {string} createdAt
 * @property {string | null} finishedAt
 * @property {Record<string, number>} counts
 * @property {string | null} error
 */
/**
 * @typedef {object} EventSummary
 * @property {string} id
 * @property {string} destination
 * @property {string} messageId
 * @property {string} source
 * @property {string} type
 * @property {string | null} name
 * @property {unknown} userId
 * @property {string} status
 * @property {number} attempts
 * @property {string | null} action
 * @property {number | null} lastStatus
 * @property {string | null} lastError
 * @property {string | null} fix
 * @property {string} receivedAt
 * @property {string | null} finishedAt
 */
/** @typedef {EventSummary & { samples: { received: unknown, request: unknown, response: unknown } }} EventDetail */
/** @typedef {{ events: EventSummary[], nextBeforeId: string | null }} EventPage */
/** @typedef {{ ids?: string[], all?: boolean, reason?: string, destination?: string }} ReplayFilter */
/** @typedef {{ configured: boolean, ok: boolean, message: string }} CsbCheck */
/**
 * @typedef {object} BrowserSetup
 * @property {string} publicUrl the relay's URL as browsers reach it
 * @property {'configuration' | 'request'} publicUrlFrom
 * @property {{ 'script-src': string[], 'connect-src': string[], note: string }} csp
 * @property {Array<{ name: string, writeKeyPlaceholder: string, snippet: string }>} sources
 */
/**
 * @typedef {object} TesterMatch
 * @property {string} subscription
 * @property {string} partnerAction
 * @property {{ method: string, url: string } | null} request
 * @property {{ status: number } | null} [response]
 * @property {string} [error]
 */
/**
 * @typedef {object} TesterResult
 * @property {boolean} deliver
 * @property {string} [skipReason]
 * @property {string | null} filledAccount
 * @property {boolean} csbConfigured
 * @property {boolean} sent
 * @property {TesterMatch[]} matches
 */

const TOKEN_KEY = 'csbRelayAdminToken'

/** A call refused for want of the right token: the token dialog says so, not the notice line. */
export class TokenRequired extends Error {
  constructor() {
    super('admin token required')
  }
}

let token = sessionStorage.getItem(TOKEN_KEY) || ''
/** @type {(why: string) => void} */
let askForToken = () => {}

export function hasToken() {
  return token !== ''
}

/** @param {string} value */
export function saveToken(value) {
  token = value
  sessionStorage.setItem(TOKEN_KEY, value)
}

export function forgetToken() {
  token = ''
  sessionStorage.removeItem(TOKEN_KEY)
}

/** @param {(why: string) => void} ask called when the relay answers 401, with why ('' the first time) */
export function onTokenNeeded(ask) {
  askForToken = ask
}

/**
 * @param {string} method
 * @param {string} path under /api
 * @param {unknown} [body] sent as JSON
 * @returns {Promise<any>} the answer's JSON
 */
async function call(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(`/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  let data = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = { error: text }
  }
  if (res.status === 401) {
    askForToken(token ? 'That token was refused.' : '')
    throw new TokenRequired()
  }
  if (!res.ok) throw new Error((data && data.error) || `HTTP ${res.status}`)
  return data
}

/** @param {string} period @param {string} destination '' for every destination @returns {Promise<Overview>} */
export function getOverview(period, destination) {
  const query = new URLSearchParams({ period })
  if (destination) query.set('destination', destination)
  return call('GET', `/overview?${query}`)
}

/** @param {URLSearchParams} query @returns {Promise<EventPage>} */
export function getEvents(query) {
  return call('GET', `/events?${query}`)
}

/** @param {string} id @returns {Promise<EventDetail>} */
export function getEvent(id) {
  return call('GET', `/events/${encodeURIComponent(id)}`)
}

/** @param {ReplayFilter} filter @returns {Promise<{ replayed: number }>} */
export function replayEvents(filter) {
  return call('POST', '/replay', filter)
}

/** @param {unknown} event @param {boolean} send @returns {Promise<{ result: TesterResult }>} */
export function testEvent(event, send) {
  return call('POST', '/test-event', { event, send })
}

/** @returns {Promise<{ config: unknown }>} */
export function getConfig() {
  return call('GET', '/config')
}

/** @returns {Promise<CsbCheck>} */
export function checkCsb() {
  return call('GET', '/csb-check')
}

/** The newest regulations. @returns {Promise<{ data: { regulations: Regulation[] } }>} */
export function getRegulations() {
  return call('GET', '/regulations?limit=10')
}

/** @returns {Promise<BrowserSetup>} */
export function getBrowserSetup() {
  return call('GET', '/browser')
}
