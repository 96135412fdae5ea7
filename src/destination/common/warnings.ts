/**
 * Warnings an action raises without failing (a name cut to CSB's 64 characters, a `total` that is
 * not a whole number): logged through the execute input's logger when it has `warn`, and returned
 * in the action's result so callers can record them.
 */
import type { Logger } from '@segment/actions-core'
import { MAX_NAME_LENGTH } from './constants'

export class Warnings {
  readonly messages: string[] = []

  constructor(private readonly logger?: Partial<Pick<Logger, 'warn'>>) {}

  add(message: string): void {
    this.messages.push(message)
    if (typeof this.logger?.warn === 'function') this.logger.warn(message)
  }
}

/**
 * `value` cut to its first 64 Unicode code points (a surrogate pair is never split), with a
 * warning naming the field, its original length and the value kept.
 */
export function truncateName(value: string, field: string, warnings: Warnings): string {
  const chars = Array.from(value)
  if (chars.length <= MAX_NAME_LENGTH) return value
  const kept = chars.slice(0, MAX_NAME_LENGTH).join('')
  warnings.add(
    `${field} was ${chars.length} characters; CustomerSuccessBox keeps ${MAX_NAME_LENGTH}, so it was truncated to "${kept}"`
  )
  return kept
}
