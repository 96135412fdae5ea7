/**
 * User deletions handed to destinations (regulations, docs/privacy.md): each destination beside
 * CSB whose definition implements `onDelete` gets a Segment `delete` event per user, through
 * actions-core (the seam's `deletionOf`). A retryable failure (no answer, 408, 429, 5xx but 501)
 * is tried again with the relay's backoff, up to DELETE_ATTEMPTS in all; any other fails at once.
 * CustomerSuccessBox's definition has no `onDelete`: CSB publishes no endpoint to delete a user.
 */
import { randomUUID } from 'node:crypto'
import { scrubText } from '../destination'
import { deletionOf } from './actions-core'
import { retryDelayMs } from './backoff'
import { describeFailure } from './classify'
import type { CheckedDestination } from './destination-check'
import type { DeliverySettings } from './types'

/** Attempts of one user's deletion at one destination, the first included. */
export const DELETE_ATTEMPTS = 4

/** A destination that takes user deletions (structurally ops' DestinationDeleter). */
export interface DestinationDeleter {
  /** The destination's name (`destinations[].name`). */
  name: string
  /** Resolves when the destination accepted the deletion; rejects with a reason free of its secrets. */
  deleteUser(userId: string): Promise<void>
}

export interface DeleterOptions {
  /** Backoff between attempts and the request timeout (each destination's `delivery` overrides apply). */
  settings: Pick<DeliverySettings, 'backoffBaseMs' | 'backoffCapMs' | 'requestTimeoutMs'>
  random?: () => number
  sleep?: (ms: number) => Promise<void>
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The deleters of the destinations whose definition implements `onDelete` (the others are left out). */
export function destinationDeleters(destinations: readonly CheckedDestination[], options: DeleterOptions): DestinationDeleter[] {
  const deleters: DestinationDeleter[] = []
  for (const checked of destinations) {
    const settings = { ...options.settings, ...checked.config.delivery }
    const deletion = deletionOf(checked.definition as never, { timeoutMs: () => settings.requestTimeoutMs })
    if (!deletion) continue
    const name = checked.config.name
    const sleep = options.sleep ?? wait
    deleters.push({
      name,
      async deleteUser(userId) {
        const event = { type: 'delete', userId, messageId: `delete-${randomUUID()}`, timestamp: new Date().toISOString() }
        for (let attempt = 1; ; attempt++) {
          try {
            await deletion(event, checked.config.settings)
            return
          } catch (error) {
            // An answer's status (the seam copies it to `status`) reads as "HTTP 500: ...".
            const e = error as { name?: unknown; status?: unknown }
            const facts = describeFailure(error, e?.name === 'HTTPError' && typeof e.status === 'number' ? e.status : null)
            if (!facts.retryable || attempt >= DELETE_ATTEMPTS) {
              const tries = attempt > 1 ? ` after ${attempt} attempts` : ''
              throw new Error(scrubText(`${facts.reason}${tries}`, checked.secrets))
            }
            await sleep(retryDelayMs(attempt, settings, facts.retryAfterMs, options.random))
          }
        }
      }
    })
  }
  return deleters
}
