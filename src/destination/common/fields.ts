/**
 * Field definitions shared by several actions. Defaults are mapping directives, so a user can
 * point any field elsewhere without code.
 */
import type { InputField } from '@segment/actions-core'

/** `$.<first>` if it exists, else the next source, ... else the last one. */
export function firstOf(...paths: string[]): InputField['default'] {
  const [head, ...rest] = paths
  if (rest.length === 0) return { '@path': head }
  return {
    '@if': { exists: { '@path': head }, then: { '@path': head }, else: firstOf(...rest) }
  } as InputField['default']
}

export function accountIdField(description: string, ...paths: string[]): InputField {
  return {
    label: 'Account ID',
    description: `${description} Required; sent as a string.`,
    type: 'string',
    required: true,
    default: firstOf(...paths)
  }
}

export function userIdField(description: string, ...paths: string[]): InputField {
  return {
    label: 'User ID',
    description: `${description} Required; sent as a string.`,
    type: 'string',
    required: true,
    default: firstOf(...paths)
  }
}

export const timestampField: InputField = {
  label: 'Timestamp',
  description: 'When the event happened; sent as ISO 8601 in UTC. Falls back to when Segment received it.',
  type: 'datetime',
  default: firstOf('$.timestamp', '$.receivedAt')
}
