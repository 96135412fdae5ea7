import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createRouter } from '.'
import type { SegmentEvent } from '../../store/types'

const KEYS = ['email', 'phone', 'plan', 'address', 'city', 'items', 'sku']
const key = fc.constantFrom(...KEYS)
const leaf = fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean(), fc.constant(null))
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small' }, leaf, fc.dictionary(key, tie('tree'), { maxKeys: 4 }), fc.array(tie('tree'), { maxLength: 3 }))
}))
const bag = fc.dictionary(key, tree, { maxKeys: 5 })
const eventArb = fc.record({ properties: bag, traits: bag, context: fc.record({ traits: bag, ip: fc.constant('1.2.3.4') }) }).map(
  (parts): SegmentEvent => ({ type: 'identify', messageId: 'm', userId: 'u', ...parts })
)
const pathArb = fc
  .tuple(fc.constantFrom('properties', 'traits', 'context.traits'), fc.array(key, { minLength: 1, maxLength: 3 }))
  .map(([root, rest]) => `${root}.${rest.join('.')}`)

/** Every value reachable by `segments`, going through arrays element by element. */
function reachable(value: unknown, segments: string[]): unknown[] {
  if (segments.length === 0) return [value]
  if (Array.isArray(value)) return value.flatMap((v) => reachable(v, segments))
  if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, segments[0])) return []
  return reachable((value as Record<string, unknown>)[segments[0]], segments.slice(1))
}

describe('block and allow on arbitrary events', () => {
  it('block: no listed path is reachable afterwards, and the input is never mutated', () => {
    fc.assert(
      fc.property(eventArb, fc.array(pathArb, { minLength: 1, maxLength: 4 }), (event, paths) => {
        const before = structuredClone(event)
        const result = createRouter([{ block: paths }]).route(event)
        expect(event).toEqual(before)
        expect(result.deliver).toBe(true)
        if (!result.deliver) return
        for (const path of paths) expect(reachable(result.event, path.split('.'))).toEqual([])
        expect(result.event.userId).toBe('u')
      })
    )
  })

  it('allow: the input is never mutated, and allowing a key twice changes nothing more', () => {
    fc.assert(
      fc.property(eventArb, fc.array(pathArb, { minLength: 1, maxLength: 4 }), (event, paths) => {
        const before = structuredClone(event)
        const router = createRouter([{ allow: paths }])
        const once = router.route(event)
        expect(event).toEqual(before)
        if (!once.deliver) throw new Error('allow never skips')
        const twice = router.route(once.event)
        if (!twice.deliver) throw new Error('allow never skips')
        expect(twice.event).toBe(once.event)
        expect(once.event.context).toMatchObject({ ip: '1.2.3.4' })
      })
    )
  })
})
