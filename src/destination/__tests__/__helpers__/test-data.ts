/**
 * Deterministic test data for the snapshot test: a value for each field of an action (only the
 * required ones, or all) and for each setting, drawn from a generator seeded with a name, so
 * the same name always gives the same data.
 */
import type { ActionDefinition, DestinationDefinition } from '@segment/actions-core'

/** What the generator reads of a field or setting. */
interface FieldLike {
  type: string
  choices?: unknown
  format?: string
  required?: unknown
}

/** A small seeded generator (FNV-1a of the seed, then xorshift32). */
function generator(seed: string): () => number {
  let state = 0x811c9dc5
  for (const char of seed) state = Math.imul(state ^ char.charCodeAt(0), 0x01000193) >>> 0
  if (state === 0) state = 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 0x100000000
  }
}

const WORDS = ['amber', 'birch', 'cedar', 'delta', 'ember', 'fjord', 'grove', 'harbor', 'iris', 'juniper']

function valueFor(field: FieldLike, next: () => number): unknown {
  const word = () => WORDS[Math.floor(next() * WORDS.length)]
  const choices = field.choices as Array<string | { value: unknown }> | undefined
  if (Array.isArray(choices) && choices.length > 0) {
    const choice = choices[Math.floor(next() * choices.length)]
    return typeof choice === 'string' ? choice : choice.value
  }
  switch (field.type) {
    case 'boolean':
      return next() < 0.5
    case 'integer':
    case 'number':
      return Math.floor(next() * 1000)
    case 'datetime':
      return '2021-02-01T00:00:00.000Z'
    case 'object':
      return { testType: `${word()}-${word()}` }
    default:
      if (field.format === 'uri') return `https://${word()}.${word()}.example.com`
      return `${word()}-${Math.floor(next() * 100000)}`
  }
}

function valuesFor(fields: Record<string, FieldLike>, next: () => number, requiredOnly: boolean) {
  const values: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(fields)) {
    if (requiredOnly && field.required !== true) continue
    values[key] = valueFor(field, next)
  }
  return values
}

/** [mapping values for `action`'s fields, settings] for the seed `seedName`. */
export function generateTestData(
  seedName: string,
  destination: DestinationDefinition<any>,
  action: ActionDefinition<any, any>,
  requiredOnly: boolean
): [Record<string, any>, any] {
  const next = generator(seedName)
  const eventData = valuesFor(action.fields, next, requiredOnly)
  const settingsData = valuesFor(destination.authentication?.fields ?? {}, next, false)
  return [eventData, settingsData]
}
