/** The events the delivery scenarios store: track events, each a new messageId. */
import { randomUUID } from 'node:crypto'
import type { NewEvent } from '../../src/store'

export interface EventShape {
  /** Distinct users, each its own ordering key: at most this many events can be in flight at once. */
  keys: number
  /** Distinct event names (each a CSB feature name); 1 sends every event as the same feature. */
  names?: number
}

/** Numbered on from the last call, so that successive calls cycle through all keys and names. */
let counter = 0

export function trackEvents(n: number, { keys, names = 1 }: EventShape): NewEvent[] {
  const now = new Date()
  return Array.from({ length: n }, () => {
    const i = counter++
    const userId = `user-${i % keys}`
    const messageId = randomUUID()
    const event = {
      type: 'track',
      messageId,
      userId,
      event: names === 1 ? 'Report Exported' : `Report Exported ${i % names}`,
      properties: { account_id: `acc-${i % 97}` },
      timestamp: now.toISOString(),
      receivedAt: now.toISOString()
    }
    return { source: 'bench', messageId, orderingKey: userId, type: 'track', event, receivedAt: new Date() }
  })
}
