/**
 * One line of an import file made ready to send: parsed, given a messageId when it has none, its
 * timestamp kept. See importer.ts.
 */
import { createHash } from 'node:crypto'
import { deletionOf } from './deletions'

/** The messageId a line without one gets: the same line always gets the same id. */
export function deterministicMessageId(line: string): string {
  return `import-${createHash('sha256').update(line.trim()).digest('hex').slice(0, 32)}`
}

/**
 * Prepares one line for import, or says why it cannot be imported; a user deletion request
 * gives its userId (`deletion`: not imported, deletions.ts).
 * `sentAt` is removed so the relay keeps each event's own timestamp (clock-skew correction
 * would move historical events to now); a missing timestamp is taken from the export's
 * originalTimestamp / sentAt / receivedAt.
 */
export function prepareLine(text: string): { json: string } | { deletion: string } | { problem: string } | null {
  const trimmed = text.trim()
  if (trimmed === '') return null
  let event: unknown
  try {
    event = JSON.parse(trimmed)
  } catch (err) {
    return { problem: `invalid JSON: ${(err as Error).message.slice(0, 120)}` }
  }
  if (!event || typeof event !== 'object' || Array.isArray(event)) return { problem: 'not a JSON object' }
  const e = event as Record<string, unknown>
  if (typeof e.type !== 'string' || e.type === '') return { problem: 'event has no "type"' }
  if (e.type === 'delete') return deletionOf(e)
  if (e.messageId === undefined || e.messageId === null || e.messageId === '') e.messageId = deterministicMessageId(trimmed)
  if (e.timestamp === undefined || e.timestamp === null) {
    const when = e.originalTimestamp ?? e.sentAt ?? e.receivedAt
    if (when !== undefined && when !== null) e.timestamp = when
  }
  delete e.sentAt
  delete e.writeKey
  return { json: JSON.stringify(e) }
}
