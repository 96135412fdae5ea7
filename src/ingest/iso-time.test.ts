import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { isoString } from './iso-time'

const MAX = 8.64e15

describe('isoString', () => {
  it('equals Date#toISOString for any valid time, in any order of calls', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -MAX, max: MAX }), fc.integer({ min: 1_700_000_000_000, max: 1_700_000_000_000 + 3 * 86_400_000 })), { minLength: 1, maxLength: 50 }), (times) => {
        for (const ms of times) expect(isoString(ms)).toBe(new Date(ms).toISOString())
      }),
      { numRuns: 500 }
    )
  })

  it('handles day boundaries and years before 1970 or after 9999', () => {
    for (const text of ['2024-02-29T23:59:59.999Z', '2024-03-01T00:00:00.000Z', '1969-12-31T23:59:59.001Z', '+010000-01-01T00:00:00.000Z', '-000001-06-15T12:00:00.500Z']) {
      const ms = Date.parse(text)
      expect(isoString(ms)).toBe(new Date(ms).toISOString())
      expect(isoString(ms + 1)).toBe(new Date(ms + 1).toISOString())
    }
  })

  it('throws RangeError for times outside the Date range, like toISOString', () => {
    expect(() => isoString(MAX + 1)).toThrow(RangeError)
    expect(() => isoString(Number.NaN)).toThrow(RangeError)
  })
})
