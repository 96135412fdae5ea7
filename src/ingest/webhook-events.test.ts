import { describe, expect, it } from 'vitest'
import { IngestError } from './errors'
import { eventsOfRequest } from './events'
import { webhookEvents } from './webhook-events'

const limits = { maxEventBytes: 2048, maxBatchEvents: 5 }
const arrival = new Date('2030-01-02T03:04:05.678Z')

/** An event as Segment's pipeline forwards it: normalised, with its own times. */
const segmentEvent = (overrides: Record<string, unknown> = {}) => ({
  type: 'track',
  event: 'Order Completed',
  userId: 'u-1',
  anonymousId: 'a-1',
  messageId: 'ajs-next-1',
  timestamp: '2024-05-01T10:00:00.000Z',
  originalTimestamp: '2024-05-01T09:59:58.000Z',
  sentAt: '2024-05-01T09:59:59.000Z',
  receivedAt: '2024-05-01T10:00:01.000Z',
  context: { library: { name: 'analytics.js', version: '1' }, traits: { plan: 'pro' } },
  integrations: { CustomerSuccessBox: true },
  properties: { total: 10 },
  projectId: 'src-1',
  version: 2,
  ...overrides
})

function refusal(body: unknown, bodyBytes = JSON.stringify(body).length): { status: number; message: string } {
  try {
    webhookEvents(body, bodyBytes, 's', limits, arrival)
  } catch (err) {
    expect(err).toBeInstanceOf(IngestError)
    return { status: (err as IngestError).statusCode, message: (err as Error).message }
  }
  throw new Error('accepted')
}

describe('webhook events', () => {
  it('keep what Segment sent (messageId, times, context, integrations, extra fields); the arrival time goes beside them', () => {
    const sent = segmentEvent()
    const [stored] = webhookEvents(sent, JSON.stringify(sent).length, 'segment', limits, arrival)
    expect(stored!.event).toEqual(sent)
    expect(stored).toMatchObject({ source: 'segment', messageId: 'ajs-next-1', type: 'track', orderingKey: 'u-1', receivedAt: arrival })
  })

  it('differ from /v1/track, which corrects the clock and sets receivedAt to its own time', () => {
    const sent = segmentEvent()
    const [tracked] = eventsOfRequest('track', sent, JSON.stringify(sent).length, 's', limits, arrival)
    expect(tracked!.event.receivedAt).toBe(arrival.toISOString())
    expect(tracked!.event.timestamp).not.toBe(sent.timestamp)
  })

  it('fill only what a non-Segment sender left out, as the other routes do; a write key is dropped', () => {
    const sent = { type: 'identify', userId: 42, traits: { name: 'Ann' }, writeKey: 'wk-leak-123' }
    const [stored] = webhookEvents(sent, 80, 's', limits, arrival)
    expect(stored!.event).toEqual({
      type: 'identify', userId: '42', traits: { name: 'Ann' },
      messageId: expect.any(String), timestamp: arrival.toISOString(), receivedAt: arrival.toISOString()
    })
    const [numeric] = webhookEvents({ ...sent, timestamp: Date.parse('2024-01-01T00:00:00Z') }, 80, 's', limits, arrival)
    expect(numeric!.event.timestamp).toBe('2024-01-01T00:00:00.000Z')
  })

  it('take an array (Webhooks (Actions) with batching), in order', () => {
    const sent = [segmentEvent({ messageId: 'm1' }), segmentEvent({ messageId: 'm2', userId: 'u-2' }), segmentEvent({ messageId: 'm3', userId: 'u-3' })]
    const stored = webhookEvents(sent, 900, 's', limits, arrival)
    expect(stored.map((e) => [e.messageId, e.type, e.orderingKey])).toEqual([['m1', 'track', 'u-1'], ['m2', 'track', 'u-2'], ['m3', 'track', 'u-3']])
  })

  it('hand back the userIds of user deletion requests (type "delete"), each once, and keep them out of the events', () => {
    const sent = [segmentEvent({ messageId: 'm1' }), { type: 'delete', userId: 'u-3', messageId: 'd1' }, { type: 'delete', userId: 7, messageId: 'd2' }, { type: 'delete', userId: 'u-3' }]
    const deletions: string[] = []
    const stored = webhookEvents(sent, 900, 's', limits, arrival, true, undefined, deletions)
    expect(stored.map((e) => e.messageId)).toEqual(['m1'])
    expect(deletions).toEqual(['u-3', '7'])
    // The store's expander (recheck off) makes the same events: the deletions stay out.
    expect(eventsOfRequest('webhook', sent, 0, 's', limits, arrival, false).map((e) => e.messageId)).toEqual(['m1'])
    expect(webhookEvents({ type: 'delete', userId: 'u-9' }, 40, 's', limits, arrival)).toEqual([])
  })

  it('refuse a user deletion request without a userId: users are deleted by userId', () => {
    const message = 'delete event has no "userId": the relay deletes users by their userId; send the user\'s userId'
    expect(refusal({ type: 'delete' })).toEqual({ status: 400, message })
    expect(refusal({ type: 'delete', anonymousId: 'a-1' })).toEqual({ status: 400, message })
  })

  it('refuse an array whole, naming the index and problem of every bad event', () => {
    const body = [segmentEvent(), { type: 'track', userId: 'u' }, 7, { type: 'purchase', userId: 'u' }, segmentEvent({ properties: 'yesterday' })]
    expect(refusal(body)).toEqual({
      status: 400,
      message:
        'body[1]: track event has no "event" name; body[2]: event is not a JSON object; ' +
        'body[3]: unknown type "purchase"; expected one of identify, track, page, screen, group, alias, delete; ' +
        'body[4]: "properties" must be an object'
    })
  })

  it('hold the per-event limit (413) and the events-per-request limit, and refuse other bodies', () => {
    const big = segmentEvent({ properties: { text: 'x'.repeat(3000) } })
    expect(refusal(big)).toEqual({ status: 413, message: expect.stringMatching(/^event is \d+ bytes; the limit is 2048$/) })
    expect(refusal([segmentEvent(), big])).toEqual({ status: 413, message: expect.stringMatching(/^body\[1\]: event is \d+ bytes; the limit is 2048$/) })
    expect(refusal(Array.from({ length: 6 }, () => segmentEvent()))).toEqual({
      status: 400, message: "array has 6 events; at most 5 are accepted per request (lower the batch size in Segment's mapping)"
    })
    expect(refusal('hello')).toEqual({ status: 400, message: 'body must be a Segment event (a JSON object) or a JSON array of events' })
    expect(refusal({ userId: 'u' })).toEqual({ status: 400, message: 'event has no "type"' })
  })
})
