import { describe, expect, it } from 'vitest'
import { IngestError } from './errors'
import { eventsOfRequest, routeOf, writeKeyInBody } from './events'
import { orderingKeyOf } from './ordering-key'
import type { SegmentEvent } from '../store/types'

const limits = { maxEventBytes: 32 * 1024, maxBatchEvents: 2500 }
const receivedAt = new Date('2024-05-01T12:00:10.000Z')

function accept(route: Parameters<typeof eventsOfRequest>[0], body: unknown, bytes = JSON.stringify(body).length) {
  return eventsOfRequest(route, body, bytes, 'web', limits, receivedAt)
}

function refusal(route: Parameters<typeof eventsOfRequest>[0], body: unknown, bytes?: number): IngestError {
  try {
    accept(route, body, bytes)
  } catch (err) {
    if (err instanceof IngestError) return err
    throw err
  }
  throw new Error('expected the request to be refused')
}

describe('routes', () => {
  it('maps long and short paths to the same event type, and import to batch', () => {
    expect(routeOf('track')).toBe('track')
    expect(routeOf('t')).toBe('track')
    expect(routeOf('s')).toBe('screen')
    expect(routeOf('import')).toBe('batch')
    expect(routeOf('b')).toBe('batch')
  })
  it('knows no route named after an Object.prototype member', () => {
    expect(routeOf('constructor')).toBeUndefined()
    expect(routeOf('__proto__')).toBeUndefined()
    expect(routeOf('toString')).toBeUndefined()
  })
})

describe('validation names the problem', () => {
  it.each([
    ['track', { userId: 'u' }, 'track event has no "event" name'],
    ['track', { event: 'X' }, 'track event has neither "userId" nor "anonymousId"'],
    ['group', { userId: 'u' }, 'group event has no "groupId"'],
    ['alias', { userId: 'u' }, 'alias event has no "previousId"'],
    ['identify', { userId: 'u', traits: [1] }, '"traits" must be an object'],
    ['identify', { userId: { id: 1 } }, 'neither "userId" nor "anonymousId"'],
    ['identify', { userId: 'u', anonymousId: true }, '"anonymousId" must be a string'],
    ['identify', { userId: 'u', messageId: 'x'.repeat(300) }, '"messageId" is longer than 256 characters'],
    ['track', { userId: 'u', type: 'identify', event: 'X' }, 'type "identify" does not match the endpoint, which takes track events']
  ] as const)('%s %j → %s', (route, body, message) => {
    const err = refusal(route, body)
    expect(err.statusCode).toBe(400)
    expect(err.message).toContain(message)
  })

  it('refuses a body that is not an object', () => {
    expect(refusal('track', [1, 2]).message).toBe('body must be a JSON object')
    expect(refusal('batch', 'x').message).toBe('body must be a JSON object')
  })

  it('refuses __proto__ keys and constructor.prototype chains, wherever they are', () => {
    const proto = JSON.parse('{"userId":"u","traits":{"a":{"__proto__":{"admin":true}}}}')
    expect(refusal('identify', proto).message).toBe('key "__proto__" is not accepted (at traits.a)')
    const ctor = { userId: 'u', properties: { constructor: { prototype: { admin: true } } }, event: 'E' }
    expect(refusal('track', ctor).message).toContain('constructor.prototype')
    expect(({} as Record<string, unknown>).admin).toBeUndefined()
  })

  it('accepts a plain "constructor" property (a word, not an attack)', () => {
    const [event] = accept('track', { userId: 'u', event: 'Bought', properties: { constructor: 'Ferrari' } })
    expect((event!.event.properties as Record<string, unknown>).constructor).toBe('Ferrari')
  })

  it('refuses nesting deeper than 64 levels without overflowing the stack', () => {
    let deep: unknown = {}
    for (let i = 0; i < 100_000; i++) deep = { a: deep }
    const err = refusal('identify', { userId: 'u', traits: deep }, 100)
    expect(err.message).toMatch(/^nested deeper than 64 levels \(at traits(\.a)+\)$/)
  })

  it('refuses a single event over maxEventBytes with 413', () => {
    const err = refusal('track', { userId: 'u', event: 'E' }, limits.maxEventBytes + 1)
    expect(err.statusCode).toBe(413)
    expect(err.message).toBe(`event is ${limits.maxEventBytes + 1} bytes; the limit is ${limits.maxEventBytes}`)
  })

  it('refuses a batch over maxBatchEvents', () => {
    const batch = Array.from({ length: 2501 }, () => ({ type: 'track', userId: 'u', event: 'E' }))
    const err = refusal('batch', { batch })
    expect(err.statusCode).toBe(400)
    expect(err.message).toBe('batch has 2501 events; at most 2500 are accepted per request')
  })

  it('refuses a whole batch naming the index and problem of every bad event', () => {
    const batch = [
      { type: 'track', userId: 'u', event: 'ok' },
      { type: 'track', userId: 'u' },
      { userId: 'u' },
      { type: 'bogus', userId: 'u' },
      { type: 'group', anonymousId: 'a' },
      'not an object'
    ]
    const err = refusal('batch', { batch })
    expect(err.statusCode).toBe(400)
    expect(err.message).toBe(
      [
        'batch[1]: track event has no "event" name',
        'batch[2]: event has no "type"',
        'batch[3]: unknown type "bogus"; expected one of identify, track, page, screen, group, alias',
        'batch[4]: group event has no "groupId"',
        'batch[5]: event is not a JSON object'
      ].join('; ')
    )
  })

  it('answers 413 when every problem of a batch is size, naming the event', () => {
    const big = { type: 'track', userId: 'u', event: 'E', properties: { blob: 'x'.repeat(40_000) } }
    const batch = [{ type: 'track', userId: 'u', event: 'E' }, big]
    const err = refusal('batch', { batch })
    expect(err.statusCode).toBe(413)
    expect(err.message).toMatch(/^batch\[1\]: event is \d+ bytes; the limit is 32768$/)
  })

  it('lists at most 20 problems and counts the rest', () => {
    const batch = Array.from({ length: 30 }, () => ({ type: 'track', userId: 'u' }))
    const err = refusal('batch', { batch })
    expect(err.message.split('; ')).toHaveLength(21)
    expect(err.message).toMatch(/; and 10 more problems$/)
  })

  it('refuses a malformed batch envelope', () => {
    expect(refusal('batch', { batch: {} }).message).toBe('"batch" must be an array of events')
    expect(refusal('batch', { batch: [], context: 'x' }).message).toBe('batch-level "context": must be an object')
  })
})

describe('normalisation', () => {
  it('generates a messageId when absent and keeps the one sent', () => {
    const [generated] = accept('identify', { userId: 'u' })
    expect(generated!.messageId).toMatch(/^[0-9a-f-]{36}$/)
    expect(generated!.event.messageId).toBe(generated!.messageId)
    const [kept] = accept('identify', { userId: 'u', messageId: 'm-1' })
    expect(kept!.messageId).toBe('m-1')
  })

  it('sets receivedAt, and corrects timestamp for the sender clock skew, keeping originalTimestamp', () => {
    // The sender's clock is 5 s fast: it says it sent at 12:00:15 an event it made at 12:00:12.
    const [e] = accept('track', {
      userId: 'u', event: 'E', timestamp: '2024-05-01T12:00:12.000Z', sentAt: '2024-05-01T12:00:15.000Z'
    })
    expect(e!.event.receivedAt).toBe('2024-05-01T12:00:10.000Z')
    expect(e!.event.timestamp).toBe('2024-05-01T12:00:07.000Z')
    expect(e!.event.originalTimestamp).toBe('2024-05-01T12:00:12.000Z')
    expect(e!.receivedAt).toEqual(receivedAt)
  })

  it('uses the timestamp as sent when there is no sentAt, and receivedAt when there is neither', () => {
    const [withTs] = accept('track', { userId: 'u', event: 'E', timestamp: '2024-01-01T00:00:00Z' })
    expect(withTs!.event.timestamp).toBe('2024-01-01T00:00:00.000Z')
    const [without] = accept('track', { userId: 'u', event: 'E' })
    expect(without!.event.timestamp).toBe('2024-05-01T12:00:10.000Z')
    expect(without!.event.originalTimestamp).toBeUndefined()
  })

  it('applies a batch sentAt to every event of the batch', () => {
    const events = accept('batch', {
      sentAt: '2024-05-01T12:00:20.000Z',
      batch: [
        { type: 'track', userId: 'u', event: 'A', timestamp: '2024-05-01T12:00:19.000Z' },
        { type: 'track', userId: 'u', event: 'B', timestamp: '2024-05-01T12:00:18.000Z' }
      ]
    })
    expect(events.map((e) => e.event.timestamp)).toEqual(['2024-05-01T12:00:09.000Z', '2024-05-01T12:00:08.000Z'])
  })

  it('merges batch-level context and integrations into each event; the event wins', () => {
    const [a, b] = accept('batch', {
      context: { library: { name: 'lib' }, ip: '1.1.1.1' },
      integrations: { All: true, CustomerSuccessBox: true },
      batch: [
        { type: 'identify', userId: 'u', context: { ip: '2.2.2.2' } },
        { type: 'identify', userId: 'v', integrations: { CustomerSuccessBox: false } }
      ]
    })
    expect(a!.event.context).toEqual({ library: { name: 'lib' }, ip: '2.2.2.2' })
    expect(a!.event.integrations).toEqual({ All: true, CustomerSuccessBox: true })
    expect(b!.event.context).toEqual({ library: { name: 'lib' }, ip: '1.1.1.1' })
    expect(b!.event.integrations).toEqual({ All: true, CustomerSuccessBox: false })
  })

  it('removes the write key, records the source, takes the type from the endpoint', () => {
    const [e] = accept('page', { writeKey: 'secret-key', anonymousId: 'a', name: 'Home' })
    expect(e!.event).not.toHaveProperty('writeKey')
    expect(JSON.stringify(e)).not.toContain('secret-key')
    expect(e!.source).toBe('web')
    expect(e!.type).toBe('page')
    expect(e!.event.type).toBe('page')
  })

  it('turns numeric ids into strings', () => {
    const [e] = accept('identify', { userId: 42 })
    expect(e!.event.userId).toBe('42')
    expect(e!.orderingKey).toBe('42')
  })

  it('falls back to receivedAt when hostile dates would leave the Date range', () => {
    const [e] = accept('track', { userId: 'u', event: 'E', timestamp: 8.64e15, sentAt: -8.64e15 })
    expect(e!.event.timestamp).toBe(receivedAt.toISOString())
  })
})

describe('ordering key', () => {
  const event = (fields: Record<string, unknown>) => ({ type: 'track', messageId: 'm', ...fields }) as SegmentEvent
  it('prefers the CSB user id in traits or properties, then userId, then anonymousId', () => {
    expect(orderingKeyOf(event({ userId: 'seg', anonymousId: 'anon', traits: { user_id: 'csb-1' } }))).toBe('csb-1')
    expect(orderingKeyOf(event({ userId: 'seg', properties: { user_id: 7 } }))).toBe('7')
    expect(orderingKeyOf(event({ userId: 'seg', context: { traits: { user_id: 'ctx' } } }))).toBe('ctx')
    expect(orderingKeyOf(event({ userId: 'seg', anonymousId: 'anon' }))).toBe('seg')
    expect(orderingKeyOf(event({ anonymousId: 'anon' }))).toBe('anon')
  })
  it('is set on every accepted event', () => {
    const [e] = accept('identify', { userId: 'u', traits: { user_id: 'csb-9' } })
    expect(e!.orderingKey).toBe('csb-9')
  })
})

describe('write key in the body', () => {
  it('is read from the top level or from a batch first event', () => {
    expect(writeKeyInBody({ writeKey: 'k' })).toBe('k')
    expect(writeKeyInBody({ batch: [{ writeKey: 'b' }] })).toBe('b')
    expect(writeKeyInBody({ writeKey: 5 })).toBeUndefined()
    expect(writeKeyInBody(null)).toBeUndefined()
  })
})
