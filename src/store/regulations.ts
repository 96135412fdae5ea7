/**
 * What both engines share for regulations (contract/regulations.ts): checking what a caller
 * hands in, the regulation rows' shape, and telling whose an event is.
 */
import { randomBytes } from 'node:crypto'
import { cleanOptional, cleanText } from './rows'
import type {
  NewEvent, NewRegulation, Regulation, RegulationCounts, RegulationStatus, RegulationType, RegulationUpdate
} from './types'

export const REGULATION_TYPES: readonly RegulationType[] = ['SUPPRESS_ONLY', 'UNSUPPRESS', 'SUPPRESS_WITH_DELETE', 'DELETE_ONLY']
export const REGULATION_STATUSES: readonly RegulationStatus[] = ['RUNNING', 'FINISHED', 'FAILED']
const COUNT_NAMES: ReadonlyArray<keyof RegulationCounts> = [
  'suppressed', 'unsuppressed', 'events', 'admittedEvents', 'identityLinks', 'destinationDeletes', 'destinationDeleteFailures'
]

/**
 * A new regulateId: 128 random bits as 32 hex digits. Not base64url: one id in 64 would start
 * with "-", which a command line reads as an option (`csb-relay regulate show -q…`).
 */
export const newRegulationId = (): string => randomBytes(16).toString('hex')

export function emptyCounts(): RegulationCounts {
  return { suppressed: 0, unsuppressed: 0, events: 0, admittedEvents: 0, identityLinks: 0, destinationDeletes: 0, destinationDeleteFailures: 0 }
}

/** Stored counts plus `add` (finite numbers only; anything else adds nothing). */
export function addCounts(stored: RegulationCounts, add: Partial<RegulationCounts> | undefined): RegulationCounts {
  const sum = { ...emptyCounts(), ...stored }
  for (const name of COUNT_NAMES) {
    const n = add?.[name]
    if (typeof n === 'number' && Number.isFinite(n)) sum[name] += n
  }
  return sum
}

/** User ids as the store keeps them: cleaned text, no empty ones, each once. */
export function checkUserIds(userIds: unknown, field = 'userIds'): string[] {
  if (!Array.isArray(userIds)) throw new TypeError(`${field} must be an array of user id strings`)
  const ids = new Set<string>()
  for (const id of userIds) {
    if (typeof id !== 'string') throw new TypeError(`${field} holds ${JSON.stringify(id)}: give each user id as a string`)
    const clean = cleanText(id)
    if (clean !== '') ids.add(clean)
  }
  return [...ids]
}

export function checkNewRegulation(regulation: NewRegulation): { type: RegulationType; subjectIds: string[]; origin: string } {
  if (!REGULATION_TYPES.includes(regulation?.type)) {
    throw new TypeError(`regulation type ${JSON.stringify(regulation?.type)} is not one of ${REGULATION_TYPES.join(', ')}`)
  }
  if (typeof regulation.origin !== 'string' || regulation.origin === '') throw new TypeError("regulation origin must be a non-empty string, e.g. 'api'")
  return { type: regulation.type, subjectIds: checkUserIds(regulation.subjectIds, 'regulation subjectIds'), origin: cleanText(regulation.origin) }
}

export function checkUpdate(update: RegulationUpdate): void {
  if (update.status !== undefined && !REGULATION_STATUSES.includes(update.status)) {
    throw new TypeError(`regulation status ${JSON.stringify(update.status)} is not one of ${REGULATION_STATUSES.join(', ')}`)
  }
}

/** The longest error a regulation keeps: a reason, not a log (a whole response body could be megabytes). */
export const REGULATION_ERROR_MAX = 2000

/**
 * A regulation's error as stored: cleaned as every text the store keeps (PostgreSQL refuses a
 * NUL; a failed FAILED update would leave the regulation RUNNING, to run again and fail the same
 * way) and cut to REGULATION_ERROR_MAX characters, ending in "…" when cut.
 */
export function regulationError(error: string | null | undefined): string | null {
  if (error === null || error === undefined) return null
  return error.length > REGULATION_ERROR_MAX ? `${cleanText(error.slice(0, REGULATION_ERROR_MAX - 1))}…` : cleanOptional(error)
}

/** Regulations `listRegulations` returns by default, and at most. */
export const LIST_DEFAULT = 100
export const LIST_MAX = 1000
export const listLimit = (limit: number | undefined): number => Math.min(LIST_MAX, Math.max(1, Math.floor(Number.isFinite(limit) ? limit! : LIST_DEFAULT)))

/** When a claim taken (or renewed) at `now` for `claimMs` runs out; a claimMs that is not a finite positive number holds nothing. */
export const claimUntil = (now: number, claimMs: number): number => now + Math.max(0, Number.isFinite(claimMs) ? claimMs : 0)

/** A regulations row as both engines select it (times in ms; JSON as text). */
export interface RegulationRow {
  id: string
  type: string
  subject_ids: string
  status: string
  origin: string
  created_at: number | string
  finished_at: number | string | null
  counts: string
  error: string | null
}

export const REGULATION_COLUMNS = 'id, type, subject_ids, status, origin, created_at, finished_at, counts, error'

export function toRegulation(row: RegulationRow): Regulation {
  return {
    id: row.id,
    type: row.type as RegulationType,
    subjectType: 'USER_ID',
    subjectIds: JSON.parse(row.subject_ids) as string[],
    status: row.status as RegulationStatus,
    origin: row.origin,
    createdAt: new Date(Number(row.created_at)),
    finishedAt: row.finished_at === null ? null : new Date(Number(row.finished_at)),
    counts: addCounts(emptyCounts(), JSON.parse(row.counts) as Partial<RegulationCounts>),
    error: row.error
  }
}

/** A NewEvent as the engines' enqueue takes it: its JSON may be text already, with its userId beside it. */
export type EnqueueInput = NewEvent & { eventJson?: string; userId?: string | null }

/** A user id as events carry it: a non-empty string (a number, as ingest normalises it, in text). */
function idText(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : cleanText(value)
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return null
}

/** The parsed event: the object itself, or its JSON text parsed (null when it is not an object). */
function eventObject(e: EnqueueInput): Record<string, unknown> | null {
  if (e.event && typeof e.event === 'object') return e.event
  if (typeof e.eventJson !== 'string') return null
  try {
    const parsed = JSON.parse(e.eventJson) as unknown
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** The event's `userId`, or null. Events serialised with their userId beside them are not parsed. */
export function userIdOf(e: EnqueueInput): string | null {
  if (e.userId !== undefined && (e.event === undefined || e.event === null)) return e.userId === null ? null : cleanText(e.userId)
  return idText(eventObject(e)?.userId)
}

/** True when the event is one of these users': its `userId`, or an alias's `previousId`, is among them. */
export function isUsersEvent(e: EnqueueInput, users: ReadonlySet<string>): boolean {
  const userId = userIdOf(e)
  if (userId !== null && users.has(userId)) return true
  if (e.type !== 'alias') return false
  const previousId = idText(eventObject(e)?.previousId)
  return previousId !== null && users.has(previousId)
}

/** Where an event may name its CSB user (`user_id`), which keys identity links and ordering keys. */
export const CSB_USER_ID_PATHS: ReadonlyArray<readonly string[]> = [['traits'], ['properties'], ['context', 'traits']]

/** The CSB user ids an event names (traits, properties, context.traits `user_id`): identity-map keys to unlink with it. */
export function csbUserIdsOf(e: EnqueueInput): string[] {
  const ids: string[] = []
  for (const path of CSB_USER_ID_PATHS) {
    let bag: unknown = eventObject(e)
    for (const step of path) bag = bag && typeof bag === 'object' ? (bag as Record<string, unknown>)[step] : undefined
    const id = bag && typeof bag === 'object' ? idText((bag as Record<string, unknown>).user_id) : null
    if (id !== null) ids.push(id)
  }
  return ids
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * True when text that could not be read as events (a request body, an inbox row kept as a dead
 * letter) names one of these users as a `userId` or `previousId`, as JSON writes it.
 */
export function textMentionsUsers(text: string, users: readonly string[]): boolean {
  if (users.length === 0 || !/"(?:userId|previousId)"/.test(text)) return false
  for (const id of users) {
    const value = escapeRegExp(JSON.stringify(id).slice(1, -1))
    // Also as the value of a JSON string inside JSON text (an inbox row's text kept in a dead letter).
    if (new RegExp(`\\\\?"(?:userId|previousId)\\\\?"\\s*:\\s*\\\\?"${value}\\\\?"`).test(text)) return true
  }
  return false
}

/**
 * What marks one of these users in stored samples (JSON text): each id as a JSON string, quotes
 * included, as it is written when a request or response body is kept as an object, and as it is
 * written when the body is kept as text of JSON. The quotes keep a short id ("1") from matching
 * every sample that merely contains its characters.
 */
export function sampleMarks(users: readonly string[]): string[] {
  const marks = new Set<string>()
  for (const id of users) {
    const quoted = JSON.stringify(id)
    marks.add(quoted)
    marks.add(JSON.stringify(quoted).slice(1, -1))
  }
  return [...marks]
}
