import { STANDARD_ACCOUNT_KEYS, STANDARD_USER_KEYS } from '../constants'
import { flattenAttributes, idString, isoTimestamp, omitKeys, prefixCustomKeys } from '../attributes'

describe('flattenAttributes', () => {
  it('flattens nested objects with "_" at any depth', () => {
    expect(flattenAttributes({ address: { city: 'Pune', geo: { lat: 18.5, lng: 73.8 } }, plan: 'pro' })).toStrictEqual({
      address_city: 'Pune',
      address_geo_lat: 18.5,
      address_geo_lng: 73.8,
      plan: 'pro'
    })
  })
  it('keeps arrays, null and booleans as they are; drops empty objects and undefined', () => {
    expect(
      flattenAttributes({ tags: ['a', 'b'], manager: null, active: false, extra: {}, gone: undefined })
    ).toStrictEqual({
      tags: ['a', 'b'],
      manager: null,
      active: false
    })
  })
  it('lets a top-level key win over a flattened key of the same name', () => {
    expect(flattenAttributes({ address_city: 'Top', address: { city: 'Nested' } })).toStrictEqual({
      address_city: 'Top'
    })
    expect(flattenAttributes({ address: { city: 'Nested' }, address_city: 'Top' })).toStrictEqual({
      address_city: 'Top'
    })
  })
  it('accepts undefined', () => {
    expect(flattenAttributes(undefined)).toStrictEqual({})
  })
})

describe('prefixCustomKeys', () => {
  it('prefixes non-standard user keys with custom_, keeps standard and already-prefixed ones', () => {
    expect(
      prefixCustomKeys(
        { email: 'a@b.c', first_name: 'A', plan: 'pro', custom_seats: 3, address_city: 'X' },
        STANDARD_USER_KEYS
      )
    ).toStrictEqual({ email: 'a@b.c', first_name: 'A', custom_plan: 'pro', custom_seats: 3, custom_address_city: 'X' })
  })
  it('uses the account list for accounts', () => {
    expect(prefixCustomKeys({ name: 'Acme', billing_city: 'X', role: 'admin' }, STANDARD_ACCOUNT_KEYS)).toStrictEqual({
      name: 'Acme',
      billing_city: 'X',
      custom_role: 'admin'
    })
  })
  it('lets an explicit custom_ key win over a prefixed one', () => {
    expect(prefixCustomKeys({ custom_plan: 'explicit', plan: 'derived' }, STANDARD_USER_KEYS)).toStrictEqual({
      custom_plan: 'explicit'
    })
    expect(prefixCustomKeys({ plan: 'derived', custom_plan: 'explicit' }, STANDARD_USER_KEYS)).toStrictEqual({
      custom_plan: 'explicit'
    })
  })
})

describe('idString', () => {
  it('stringifies numbers and booleans, keeps strings, treats blank as absent', () => {
    expect(idString(12345678)).toBe('12345678')
    expect(idString(0)).toBe('0')
    expect(idString(true)).toBe('true')
    expect(idString('abc')).toBe('abc')
    expect(idString('  ')).toBeUndefined()
    expect(idString('')).toBeUndefined()
    expect(idString(null)).toBeUndefined()
    expect(idString(undefined)).toBeUndefined()
    expect(idString({})).toBeUndefined()
    expect(idString(Number.NaN)).toBeUndefined()
  })
})

describe('isoTimestamp', () => {
  it('normalises to ISO 8601 UTC', () => {
    expect(isoTimestamp('2024-01-08T15:30:00+05:30')).toBe('2024-01-08T10:00:00.000Z')
    expect(isoTimestamp(1704708000000)).toBe('2024-01-08T10:00:00.000Z')
    expect(isoTimestamp(1704708000)).toBe('2024-01-08T10:00:00.000Z')
    expect(isoTimestamp('1704708000')).toBe('2024-01-08T10:00:00.000Z')
  })
  it('is undefined when absent or unreadable', () => {
    expect(isoTimestamp(undefined)).toBeUndefined()
    expect(isoTimestamp('')).toBeUndefined()
    expect(isoTimestamp('yesterday')).toBeUndefined()
  })
})

describe('omitKeys', () => {
  it('drops the given keys only', () => {
    expect(omitKeys({ account_id: 1, user_id: 2, plan: 3 }, ['account_id', 'user_id'])).toStrictEqual({ plan: 3 })
  })
})
