import { describe, expect, it } from 'vitest'
import { createRouter, RoutingConfigError } from '.'

function refusal(filters: unknown): string {
  try {
    createRouter(filters as unknown[])
  } catch (err) {
    expect(err).toBeInstanceOf(RoutingConfigError)
    return (err as Error).message
  }
  throw new Error('expected createRouter to refuse the rules')
}

describe('start-up refusal of broken rules', () => {
  it('bad FQL: names the rule by number, name and index, the condition, the problem and the fix', () => {
    expect(refusal([{ drop: 'type = "a"' }, { name: 'no internal', drop: 'properties.internal == true' }])).toBe(
      'filter #2 "no internal" (filters[1]): "drop" is not valid FQL (properties.internal == true): "==" is not an FQL operator. Fix: compare with a single =.'
    )
    expect(refusal([{ keep: 'type = track' }])).toBe(
      'filter #1 (filters[0]): "keep" is not valid FQL (type = track): the value after type = is the word track. Fix: quote text with double quotes ("track"); numbers, true, false and null are written bare.'
    )
    expect(refusal([{ drop: 'foo = 1' }])).toBe(
      'filter #1 (filters[0]): "drop" is not valid FQL (foo = 1): unknown field "foo". Fix: a field is type, event, name, userId, properties.<key>, traits.<key> or context.<key>.'
    )
    expect(refusal([{ drop: '' }])).toBe('filter #1 (filters[0]): "drop" is not valid FQL (): the condition is empty. Fix: write a condition such as type = "track".')
    expect(refusal([{ drop: 'properties.$id = 1' }])).toBe(
      'filter #1 (filters[0]): "drop" is not valid FQL (properties.$id = 1): it cannot be read from column 12 on ($id = 1). Fix: keys are letters, digits, _ or -; text is in double quotes; join conditions with "and" / "or".'
    )
    expect(refusal([{ block: ['traits.email'], if: 'type = "identify' }])).toMatch(/^filter #1 \(filters\[0\]\): "if" is not valid FQL \(type = "identify\): it cannot be read/)
  })

  it('refuses FQL the engine would silently read differently', () => {
    expect(refusal([{ drop: 'not type = "track"' }])).toContain('unknown field "not"')
    expect(refusal([{ drop: 'type = "track" and event = "A" or event = "B"' }])).toBe(
      'filter #1 (filters[0]): "drop" is not valid FQL (type = "track" and event = "A" or event = "B"): it mixes "and" and "or" at the same level, which the FQL engine reads as all "or". Fix: group with parentheses, e.g. type = "track" and (event = "A" or event = "B").'
    )
    expect(refusal([{ drop: 'type = "a" and (event = "b" or (event = "c"))' }])).toContain('it nests parentheses')
    expect(refusal([{ drop: '(contains(event, "x") or type = "track")' }])).toContain('contains() inside parentheses is not supported')
    expect(refusal([{ drop: 'type = "a" AND type = "b"' }])).toContain('the word AND cannot follow a condition')
    expect(refusal([{ drop: 'match(event, "Order")' }])).toContain('needs a pattern with * at its start or end')
    expect(refusal([{ drop: 'properties.total > "100"' }])).toContain('> compares numbers only')
    expect(refusal([{ drop: 'traits.vip != true' }])).toContain('true and false can only be compared with =')
    expect(refusal([{ drop: "event = 'Signed Up'" }])).toContain("single-quoted text 'Signed Up'")
    expect(refusal([{ drop: 'type = "track" and' }])).toContain('it ends with "and"')
    expect(refusal([{ drop: '(type = "track"' }])).toContain('a "(" is not closed')
    expect(refusal([{ drop: 'properties = 1' }])).toContain('the field "properties" needs a key')
  })

  it('bad paths', () => {
    expect(refusal([{ name: 'no PII', block: ['traits.email', 'email'] }])).toBe(
      'filter #1 "no PII" (filters[0]): "block"[1] "email" is outside properties, traits and context. Fix: start the path with properties., traits. or context., e.g. "traits.email".'
    )
    expect(refusal([{ block: ['properties..city'] }])).toBe(
      'filter #1 (filters[0]): "block"[0] "properties..city" has an empty key or spaces around a dot. Fix: separate keys with single dots, e.g. "properties.address.city".'
    )
    expect(refusal([{ block: ['properties.items[0].sku'] }])).toBe(
      'filter #1 (filters[0]): "block"[0] "properties.items[0].sku" uses brackets. Fix: write the path without an index: it then applies to every element of an array, e.g. "properties.items.sku".'
    )
    expect(refusal([{ block: ['traits'] }])).toBe('filter #1 (filters[0]): "block"[0] "traits" names a whole traits object. Fix: name the keys to remove, e.g. "traits.email".')
    expect(refusal([{ allow: ['context.ip'] }])).toBe(
      'filter #1 (filters[0]): "allow"[0] "context.ip" is outside properties, traits and context.traits. Fix: an allow list keeps keys of properties, traits or context.traits; start the path with one of them, or use "block" for other context fields.'
    )
    expect(refusal([{ allow: ['context.traits'] }])).toBe('filter #1 (filters[0]): "allow"[0] "context.traits" names a whole object. Fix: name the keys to keep, e.g. "context.traits.plan".')
    expect(refusal([{ block: [42] }])).toBe('filter #1 (filters[0]): "block"[0] 42 is not a path. Fix: write a dotted path as a string, e.g. "traits.email".')
    expect(refusal([{ block: ['traits.__proto__.x'] }])).toContain('names __proto__')
  })

  it('empty lists and lists that are not lists', () => {
    expect(refusal([{ block: [] }])).toBe(
      'filter #1 (filters[0]): "block" is an empty list. Fix: list at least one path, e.g. {"block": ["traits.email", "context.traits.phone"]}, or remove the rule.'
    )
    expect(refusal([{ allow: [] }])).toBe('filter #1 (filters[0]): "allow" is an empty list. Fix: list at least one path, e.g. {"allow": ["properties.plan", "traits.name"]}, or remove the rule.')
    expect(refusal([{ block: 'traits.email' }])).toBe('filter #1 (filters[0]): "block" must be a list of paths. Fix: write e.g. {"block": ["traits.email", "context.traits.phone"]}.')
  })

  it('unknown kinds, several kinds, unknown keys, wrong types', () => {
    expect(refusal([{ name: 'typo', dorp: 'type = "track"' }])).toBe(
      'filter #1 "typo" (filters[0]): unknown key "dorp". Fix: a rule has one of "drop", "keep", "block", "allow", an optional "name" and (block/allow) an optional "if".'
    )
    expect(refusal([{ name: 'empty' }])).toBe('filter #1 "empty" (filters[0]): it has none of "drop", "keep", "block", "allow". Fix: give it one, e.g. {"drop": "properties.internal = true"}.')
    expect(refusal([{ drop: 'type = "a"', block: ['traits.x'] }])).toBe(
      'filter #1 (filters[0]): it has "drop" and "block"; a rule has only one. Fix: split it into one rule per kind, in the order they should apply.'
    )
    expect(refusal(['drop everything'])).toBe('filter #1 (filters[0]): it is "drop everything", not an object. Fix: write an object such as {"drop": "properties.internal = true"}.')
    expect(refusal([{ drop: true }])).toBe('filter #1 (filters[0]): "drop" must be an FQL condition as text, got true. Fix: write e.g. "drop": "properties.internal = true".')
    expect(refusal([{ drop: 'type = "a"', if: 'type = "b"' }])).toBe('filter #1 (filters[0]): "if" does not apply to "drop". Fix: put the whole condition in "drop".')
    expect(refusal([{ name: 7, drop: 'type = "a"' }])).toBe('filter #1 (filters[0]): "name" must be non-empty text. Fix: name the rule, e.g. "name": "no internal".')
    expect(refusal({ drop: 'type = "a"' })).toBe('"filters" must be an array of filter rules. Fix: write "filters": [{"drop": "properties.internal = true"}, ...] (see docs/routing.md)')
  })

  it('accepts every documented example', () => {
    const r = createRouter([
      { name: 'no internal', drop: 'properties.internal = true' },
      { name: 'tracks and identifies', keep: 'type = "track" or type = "identify"' },
      { name: 'no PII', block: ['traits.email', 'traits.phone', 'context.traits.email', 'context.traits.phone'] },
      { name: 'plan only', allow: ['properties.plan', 'properties.account_id', 'properties.user_id'], if: 'event = "Plan Changed"' },
      { drop: 'contains(traits.email, "@example.com")' },
      { drop: '!match(event, "Order *") and type = "track"' },
      { keep: 'userId != null or context.traits.account_id != null' },
      { drop: 'properties.total < 0 or properties.total >= 1000000' }
    ])
    expect(r.summary).toHaveLength(8)
  })
})
