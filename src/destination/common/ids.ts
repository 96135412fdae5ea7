/**
 * Required ids: read a mapped value as a string, or fail with a PayloadValidationError that names
 * the field and the event paths its mapping looked in, so the fix is obvious.
 */
import { PayloadValidationError } from '@segment/actions-core'
import { idString } from './attributes'

/** The event paths a mapping directive reads, in order (`$.traits.user_id` → `traits.user_id`). */
export function mappingSources(directive: unknown): string[] {
  const found: string[] = []
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit)
      return
    }
    if (node === null || typeof node !== 'object') return
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === '@path' && typeof value === 'string') {
        const path = value.replace(/^\$\.?/, '')
        if (path && !found.includes(path)) found.push(path)
      } else {
        visit(value)
      }
    }
  }
  visit(directive)
  return found
}

export interface IdContext {
  /** The mapping the action ran with (actions-core passes it as `rawMapping`). */
  rawMapping?: unknown
  /** The action's fields, for their default mappings when the mapping is not available. */
  fields: Record<string, { default?: unknown }>
  /** How the call is named in the message: "identify", "group", "track", "page". */
  call: string
}

/** `field`'s value as a string id, or a PayloadValidationError explaining where it was looked for. */
export function requireId(value: unknown, field: string, context: IdContext): string {
  const id = idString(value)
  if (id !== undefined) return id
  throw new PayloadValidationError(missingIdMessage(field, context))
}

export function missingIdMessage(field: string, context: IdContext): string {
  const mapping = isRecord(context.rawMapping) ? context.rawMapping[field] : undefined
  let sources = mappingSources(mapping)
  if (sources.length === 0 && mapping === undefined) sources = mappingSources(context.fields[field]?.default)
  const where = sources.length > 0 ? `looked in ${sources.join(', ')}` : 'its mapping gave no value'
  const fix =
    sources.length > 0
      ? `set ${sources.join(' or ')} in the ${context.call} call`
      : `set it in the ${context.call} call`
  return `${field} is missing or empty: ${where}; ${fix}, or remap the ${field} field`
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

const MISSING_REQUIRED_FIELD = /missing the required field '([^']+)'/

/**
 * actions-core checks `required: true` fields before `perform` runs, so a missing id is refused
 * with its AggregateAjvError ("The root value is missing the required field 'account_id'.").
 * For such an error this returns a PayloadValidationError saying, for each missing id, where the
 * mapping looked for it (the message `requireId` gives); any other error comes back unchanged.
 */
export function explainMissingIds(error: unknown, context: IdContext): unknown {
  const errors = (error as { name?: unknown; errors?: unknown } | null)?.errors
  if ((error as { name?: unknown } | null)?.name !== 'AggregateAjvError' || !Array.isArray(errors)) return error
  let explained = false
  const messages = errors.map((item: { message?: unknown }) => {
    const message = typeof item?.message === 'string' ? item.message : ''
    const field = MISSING_REQUIRED_FIELD.exec(message)?.[1]
    if (field === undefined || !(field in context.fields)) return message
    explained = true
    return missingIdMessage(field, context)
  })
  return explained ? new PayloadValidationError(messages.filter(Boolean).join('; ')) : error
}
