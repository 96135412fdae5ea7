import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isCanonicalUtc, isValidDate, structuralProblem } from './validate'

const pad = (n: number, width: number) => String(n).padStart(width, '0')

/** Strings in the SDK form, with fields drawn past their ranges and some characters swapped. */
const nearIso = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 61 }),
    fraction: fc.oneof(fc.constant(''), fc.stringMatching(/^\.\d{0,10}$/), fc.constant('.1a')),
    zone: fc.constantFrom('Z', 'z', '+00:00', ''),
    swap: fc.option(fc.tuple(fc.nat(29), fc.constantFrom('-', 'T', ':', ' ', 'x', '1')), { nil: undefined })
  })
  .map(({ year, month, day, hour, minute, second, fraction, zone, swap }) => {
    let text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction}${zone}`
    if (swap) text = text.slice(0, swap[0]) + swap[1] + text.slice(swap[0] + 1)
    return text
  })

describe('isValidDate', () => {
  it('the fast path accepts only what Date.parse accepts, and isValidDate agrees with Date.parse throughout', () => {
    fc.assert(
      fc.property(nearIso, (text) => {
        const parses = !Number.isNaN(Date.parse(text))
        if (isCanonicalUtc(text)) expect(parses).toBe(true)
        expect(isValidDate(text)).toBe(parses)
      }),
      { numRuns: 20_000 }
    )
  })

  it('takes the fast path for what SDKs send, on every real day, leap days included', () => {
    for (const text of ['2026-11-29T12:00:00.000Z', '2024-02-29T23:59:59.999Z', '2000-02-29T00:00:00Z', '2026-12-31T00:00:00.123456789Z', '0000-01-01T00:00:00Z']) {
      expect(isCanonicalUtc(text), text).toBe(true)
    }
    const start = Date.UTC(2023, 0, 1)
    for (let day = 0; day < 366 * 2; day++) expect(isCanonicalUtc(new Date(start + day * 86_400_000).toISOString())).toBe(true)
  })

  it('leaves what it is not sure of to Date.parse, and refuses what neither accepts', () => {
    for (const text of ['2026-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2026-11-29T24:00:00Z', '2026-11-29T12:00:00+01:00', '2026-11-29', 'Sun, 29 Nov 2026 12:00:00 GMT']) {
      expect(isCanonicalUtc(text), text).toBe(false)
      expect(isValidDate(text), text).toBe(!Number.isNaN(Date.parse(text)))
    }
    expect(isValidDate('2026-13-01T00:00:00Z')).toBe(false)
    expect(isValidDate('yesterday')).toBe(false)
    expect(isValidDate('')).toBe(false)
    expect(isValidDate(1_764_417_600_000)).toBe(true)
    expect(isValidDate(Number.NaN)).toBe(false)
    expect(isValidDate(true)).toBe(false)
  })
})

describe('structuralProblem', () => {
  it('finds __proto__ and constructor.prototype keys at any depth, in objects and arrays, and says where', () => {
    expect(structuralProblem(JSON.parse('{"a":[1,{"b":{"__proto__":{"x":1}}}]}'))).toBe('key "__proto__" is not accepted (at a[1].b)')
    expect(structuralProblem(JSON.parse('{"a":{"constructor":{"prototype":{}}}}'))).toBe('key "constructor.prototype" is not accepted (at a)')
    expect(structuralProblem(JSON.parse('{"__proto__":1}'))).toBe('key "__proto__" is not accepted (at the top)')
    // A primitive "constructor" is an ordinary property.
    expect(structuralProblem({ constructor: 'x', a: [1, 'b', null, { c: true }] })).toBeUndefined()
  })

  it('refuses nesting deeper than 64 levels of objects or arrays, but not 64 with leaves at the bottom', () => {
    const nest = (levels: number, leaf: unknown): unknown => (levels === 0 ? leaf : [nest(levels - 1, leaf)])
    expect(structuralProblem(nest(64, 1))).toBeUndefined()
    expect(structuralProblem(nest(64, {}))).toMatch(/^nested deeper than 64 levels/)
    expect(structuralProblem(nest(63, { a: null }))).toBeUndefined()
  })
})
