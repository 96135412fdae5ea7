/** Events for unit tests that enqueue straight into a store (ops' reads, the admin API). */
import type { NewEvent } from '../../src/store/types'

/** Track `Feature i` of `user-i` (its own ordering key), account `acme`; `over` changes the event's fields. */
export function trackEvent(i: number, over: Partial<NewEvent['event']> = {}): NewEvent {
  const messageId = `m-${i}`
  return {
    source: 'test',
    messageId,
    orderingKey: `user-${i}`,
    type: 'track',
    event: { type: 'track', messageId, userId: `user-${i}`, event: `Feature ${i}`, properties: { account_id: 'acme' }, ...over },
    receivedAt: new Date()
  }
}
