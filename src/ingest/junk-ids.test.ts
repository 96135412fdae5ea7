import { describe, expect, it } from 'vitest'
import { eventsOfRequest, type Route } from './events'
import { isJunkId, junkIdsOf, withoutJunkIds } from './junk-ids'
import { orderingKeyOf } from './ordering-key'
import { noRepairs } from './repairs'
import type { SegmentEvent } from '../store/types'

const limits = { maxEventBytes: 32 * 1024, maxBatchEvents: 2500 }

function accept(route: Route, body: unknown) {
  const repairs = noRepairs()
  const events = eventsOfRequest(route, body, JSON.stringify(body).length, 'web', limits, new Date(), true, repairs)
  return { events, repairs }
}

describe('isJunkId', () => {
  it.each(['undefined', 'null', 'NULL', ' None ', 'nil', 'NaN', 'Infinity', '-Infinity', 'true', 'False', '[object Object]', '[object Undefined]', '', '   '])(
    '%j is junk',
    (value) => expect(isJunkId(value)).toBe(true)
  )
  it.each(['u-1', '0', '42', 'anonymous', 'undefined-user', 'nullable', 'object', '[object Object] and more', 7, null, undefined, {}])('%j is not junk', (value) => {
    expect(isJunkId(value)).toBe(false)
  })
})

describe('withoutJunkIds', () => {
  it('removes junk from every id path, keeps the rest, and says what it removed', () => {
    const event = {
      userId: 'undefined', anonymousId: 'a-1', groupId: 'null',
      traits: { user_id: '[object Object]', account_id: 'acc-1', name: 'undefined' },
      properties: { user_id: 'u-2', account_id: ' ' },
      context: { ip: '1.1.1.1', traits: { user_id: 'NaN' } }
    }
    const { event: cleaned, junk } = withoutJunkIds(event)
    expect(cleaned).toEqual({
      anonymousId: 'a-1',
      traits: { account_id: 'acc-1', name: 'undefined' },
      properties: { user_id: 'u-2' },
      context: { ip: '1.1.1.1', traits: {} }
    })
    expect(junk).toEqual({ userId: 'undefined', groupId: 'null', 'traits.user_id': '[object Object]', 'properties.account_id': ' ', 'context.traits.user_id': 'NaN' })
    // The caller's objects are left as they were.
    expect(event.traits.user_id).toBe('[object Object]')
    expect(event.context.traits.user_id).toBe('NaN')
  })

  it('returns the event itself when it has no junk', () => {
    const event = { userId: 'u', traits: { user_id: 'c' } }
    expect(withoutJunkIds(event)).toEqual({ event, junk: undefined })
    expect(withoutJunkIds(event).event).toBe(event)
    expect(junkIdsOf({ traits: 'text', properties: null })).toEqual([])
  })
})

describe('junk ids at ingest', () => {
  it('are accepted, removed from the stored event, kept in context.csbRelay.junkIds and counted by path', () => {
    const { events, repairs } = accept('identify', { userId: 'undefined', anonymousId: 'anon-1', traits: { user_id: 'null', email: 'a@example.com' } })
    const event = events[0]!.event
    expect(event).not.toHaveProperty('userId')
    expect(event.traits).toEqual({ email: 'a@example.com' })
    expect(event.context).toEqual({ csbRelay: { junkIds: { userId: 'undefined', 'traits.user_id': 'null' } } })
    expect(events[0]!.orderingKey).toBe('anon-1')
    expect(repairs.junkIds).toEqual({ userId: 1, 'traits.user_id': 1 })
  })

  it('count the batch context ids as the event will have them', () => {
    const { events, repairs } = accept('batch', {
      context: { traits: { user_id: 'undefined' } },
      batch: [{ type: 'track', userId: 'u', event: 'A' }, { type: 'track', userId: 'u', event: 'B', context: { traits: { user_id: 'c-1' } } }]
    })
    expect(repairs.junkIds).toEqual({ 'context.traits.user_id': 1 })
    expect(events[0]!.event.context).toEqual({ traits: {}, csbRelay: { junkIds: { 'context.traits.user_id': 'undefined' } } })
    expect(events[1]!.orderingKey).toBe('c-1')
  })

  it('leave an event with only junk ids stored, on an ordering key of its own', () => {
    const { events } = accept('batch', {
      batch: [
        { type: 'track', userId: 'null', event: 'A', messageId: 'm-1' },
        { type: 'track', anonymousId: 'undefined', event: 'B', messageId: 'm-2' }
      ]
    })
    expect(events.map((e) => e.orderingKey)).toEqual(['no-id:m-1', 'no-id:m-2'])
    expect(events[0]!.event.context).toEqual({ csbRelay: { junkIds: { userId: 'null' } } })
  })

  it('are the same on /v1/webhook', () => {
    const { events, repairs } = accept('webhook', { type: 'track', event: 'E', userId: 'undefined', anonymousId: 'a', messageId: 'w-1' })
    expect(events[0]!.event).not.toHaveProperty('userId')
    expect(events[0]!.orderingKey).toBe('a')
    expect(repairs.junkIds).toEqual({ userId: 1 })
  })
})

describe('ordering key and junk ids', () => {
  const event = (fields: Record<string, unknown>) => ({ type: 'track', messageId: 'm', ...fields }) as SegmentEvent
  it('skips junk wherever it is, and never gives every id-less event one key', () => {
    expect(orderingKeyOf(event({ userId: 'seg', traits: { user_id: 'undefined' } }))).toBe('seg')
    expect(orderingKeyOf(event({ userId: 'null', anonymousId: 'anon' }))).toBe('anon')
    expect(orderingKeyOf(event({ userId: '[object Object]', anonymousId: ' ' }))).toBe('no-id:m')
    expect(orderingKeyOf(event({ messageId: 'other' }))).toBe('no-id:other')
  })
})
