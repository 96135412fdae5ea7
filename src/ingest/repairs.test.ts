/**
 * Segment's acceptance rules: a malformed time is no refusal. It is replaced by the time of
 * receipt, what was sent is kept in context.csbRelay, and it is counted: on the tracking routes,
 * on /v1/webhook, and the same whether the request thread or a parse thread checks it.
 */
import { describe, expect, it } from 'vitest'
import { checkRequest, eventsOfRequest, type Route } from './events'
import { expand, opaqueRequest } from './opaque'
import { noRepairs } from './repairs'

const limits = { maxEventBytes: 32 * 1024, maxBatchEvents: 2500 }
const receivedAt = new Date('2024-05-01T12:00:10.000Z')
const RECEIVED = '2024-05-01T12:00:10.000Z'

function accept(route: Route, body: unknown) {
  const repairs = noRepairs()
  const events = eventsOfRequest(route, body, JSON.stringify(body).length, 'web', limits, receivedAt, true, repairs)
  return { events: events.map((e) => e.event), repairs }
}

describe('a malformed timestamp or sentAt', () => {
  it.each([['not a date'], [''], [true], [{ when: 'now' }], [[2024]], [1e20]])('timestamp %j: accepted, replaced by receivedAt, kept in context.csbRelay', (bad) => {
    const { events, repairs } = accept('track', { userId: 'u', event: 'E', timestamp: bad, context: { ip: '1.2.3.4' } })
    expect(events[0]!.timestamp).toBe(RECEIVED)
    expect(events[0]!.originalTimestamp).toBeUndefined()
    expect(events[0]!.context).toEqual({ ip: '1.2.3.4', csbRelay: { invalidTimestamp: bad } })
    expect(repairs.invalidTimes).toEqual({ timestamp: 1 })
  })

  it('an event sentAt: dropped from the event, kept beside it, and no skew correction made with it', () => {
    const { events, repairs } = accept('track', { userId: 'u', event: 'E', timestamp: '2024-05-01T11:00:00.000Z', sentAt: 'soon' })
    expect(events[0]!.timestamp).toBe('2024-05-01T11:00:00.000Z')
    expect(events[0]!.originalTimestamp).toBe('2024-05-01T11:00:00.000Z')
    expect(events[0]).not.toHaveProperty('sentAt')
    expect(events[0]!.context).toEqual({ csbRelay: { invalidSentAt: 'soon' } })
    expect(repairs.invalidTimes).toEqual({ sentAt: 1 })
  })

  it('a batch sentAt: noted on each event without a sentAt of its own; an event own malformed sentAt gives way to a good batch one', () => {
    const bad = accept('batch', { sentAt: '12x', batch: [{ type: 'track', userId: 'u', event: 'A' }, { type: 'track', userId: 'u', event: 'B', sentAt: '2024-05-01T12:00:12.000Z' }] })
    expect(bad.events[0]!.context).toEqual({ csbRelay: { invalidSentAt: '12x' } })
    expect(bad.events[1]!.context).toBeUndefined()
    expect(bad.repairs.invalidTimes).toEqual({ sentAt: 1 })

    const good = accept('batch', {
      sentAt: '2024-05-01T12:00:20.000Z',
      batch: [{ type: 'track', userId: 'u', event: 'A', timestamp: '2024-05-01T12:00:19.000Z', sentAt: 'whenever' }]
    })
    expect(good.events[0]!.sentAt).toBe('2024-05-01T12:00:20.000Z')
    expect(good.events[0]!.timestamp).toBe('2024-05-01T12:00:09.000Z')
    expect(good.events[0]!.context).toEqual({ csbRelay: { invalidSentAt: 'whenever' } })
    expect(good.repairs.invalidTimes).toEqual({ sentAt: 1 })
  })

  it('both at once, in a batch among good events: every event stored, each repair counted once', () => {
    const { events, repairs } = accept('batch', {
      batch: [
        { type: 'identify', userId: 'u', timestamp: 'x', sentAt: 'y' },
        { type: 'identify', userId: 'u', timestamp: '2024-05-01T12:00:00.000Z' },
        { type: 'identify', userId: 'u', timestamp: 'z' }
      ]
    })
    expect(events.map((e) => e.timestamp)).toEqual([RECEIVED, '2024-05-01T12:00:00.000Z', RECEIVED])
    expect(events[0]!.context).toEqual({ csbRelay: { invalidTimestamp: 'x', invalidSentAt: 'y' } })
    expect(repairs.invalidTimes).toEqual({ timestamp: 2, sentAt: 1 })
  })

  it('keeps a sender csbRelay object, and replaces one that is not an object', () => {
    expect(accept('track', { userId: 'u', event: 'E', timestamp: 'x', context: { csbRelay: { mine: 1 } } }).events[0]!.context).toEqual({ csbRelay: { mine: 1, invalidTimestamp: 'x' } })
    expect(accept('track', { userId: 'u', event: 'E', timestamp: 'x', context: { csbRelay: 'no' } }).events[0]!.context).toEqual({ csbRelay: { invalidTimestamp: 'x' } })
  })

  it('on /v1/webhook: timestamp, sentAt and receivedAt replaced or dropped, kept beside, counted', () => {
    const sent = { type: 'track', event: 'E', userId: 'u', timestamp: 'bad-ts', sentAt: 'bad-sent', receivedAt: 'bad-received', context: { library: { name: 'x' } } }
    const { events, repairs } = accept('webhook', [sent])
    expect(events[0]).toMatchObject({ timestamp: RECEIVED, receivedAt: RECEIVED })
    expect(events[0]).not.toHaveProperty('sentAt')
    expect(events[0]!.context).toEqual({ library: { name: 'x' }, csbRelay: { invalidTimestamp: 'bad-ts', invalidSentAt: 'bad-sent', invalidReceivedAt: 'bad-received' } })
    expect(repairs.invalidTimes).toEqual({ timestamp: 1, sentAt: 1, receivedAt: 1 })
  })

  it('is counted when a parse thread checks the request, and repaired when the store expands it, as on the request thread', () => {
    const body = { batch: [{ type: 'track', userId: 'u', event: 'E', messageId: 'm', timestamp: 'garbage' }] }
    const raw = Buffer.from(JSON.stringify(body))
    const repairs = noRepairs()
    const n = checkRequest('batch', body, raw.length, limits, repairs)
    expect(repairs.invalidTimes).toEqual({ timestamp: 1 })
    const opaque = opaqueRequest('batch', 'web', receivedAt, raw, n)
    expect(expand(opaque.head, opaque.body).map((e) => e.event)).toEqual(accept('batch', body).events)
  })
})
