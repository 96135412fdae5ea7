/**
 * Problems found in a request's events, gathered so one answer names every bad event (by its
 * index) instead of the first only: the sender fixes them all in one go.
 */
import { IngestError } from './errors'
import { EVENT_TYPES } from './validate'

export interface Problem {
  message: string
  tooLarge: boolean
}

/** Problems listed in one error message; the rest are counted. */
const MAX_LISTED_PROBLEMS = 20

/** Throws the request's refusal: 413 when every problem is an event over the size limit, else 400. */
export function fail(problems: Problem[]): never {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => p.message)
  if (problems.length > MAX_LISTED_PROBLEMS) listed.push(`and ${problems.length - MAX_LISTED_PROBLEMS} more problems`)
  throw new IngestError(problems.every((p) => p.tooLarge) ? 413 : 400, listed.join('; '))
}

export function typeProblem(type: unknown, accepted: readonly string[] = EVENT_TYPES): string {
  if (type === undefined || type === null || type === '') return 'event has no "type"'
  return `unknown type ${JSON.stringify(type).slice(0, 60)}; expected one of ${accepted.join(', ')}`
}

export function sizeOf(event: unknown): number {
  return Buffer.byteLength(JSON.stringify(event))
}
