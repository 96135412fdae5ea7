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

/**
 * Checks each event of an array, gathering every problem under `label[i]`: `problemOf` gives an
 * event's own problem, or its type when it has none; events are measured against the limit only
 * when the whole body is over it (then some may be). Throws the request's refusal (`fail`) when
 * any event has a problem, else gives every event with its type.
 */
export function checkEach<T extends string>(
  events: readonly unknown[],
  label: string,
  bodyBytes: number,
  maxEventBytes: number,
  problemOf: (event: unknown) => { problem: string } | { type: T }
): Array<{ raw: Record<string, unknown>; type: T }> {
  const measure = bodyBytes > maxEventBytes
  const problems: Problem[] = []
  const items: Array<{ raw: Record<string, unknown>; type: T }> = []
  for (let i = 0; i < events.length; i++) {
    const event = events[i]
    const found = problemOf(event)
    if ('problem' in found) {
      problems.push({ message: `${label}[${i}]: ${found.problem}`, tooLarge: false })
      continue
    }
    if (measure) {
      const bytes = sizeOf(event)
      if (bytes > maxEventBytes) {
        problems.push({ message: `${label}[${i}]: event is ${bytes} bytes; the limit is ${maxEventBytes}`, tooLarge: true })
        continue
      }
    }
    if (problems.length === 0) items.push({ raw: event as Record<string, unknown>, type: found.type })
  }
  if (problems.length > 0) fail(problems)
  return items
}
