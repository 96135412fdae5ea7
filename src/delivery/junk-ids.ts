/**
 * Events whose ids ingest found to be junk ("undefined", "null", "[object Object]"...; see
 * src/ingest/junk-ids.ts): ingest removed them and kept them in `context.csbRelay.junkIds`
 * (path → value). When a subscription's field reads ids only from such paths and from none that
 * has a value, the event is left without the id it needs: it is dead-lettered before anything is
 * sent, with a reason that names the junk value, instead of failing in the action with a message
 * that cannot say why the id is missing.
 */
import { mappingSources } from '../destination/common/ids'
import type { SegmentEvent } from '../store/types'
import type { ActiveSubscription } from './subscriptions'

type Bag = Record<string, unknown>

const isBag = (value: unknown): value is Bag => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The junk ids ingest noted on the event (`{"userId": "undefined"}`), or undefined. */
export function junkIdsNoted(event: SegmentEvent): Record<string, string> | undefined {
  const notes = isBag(event.context) ? event.context.csbRelay : undefined
  const junk = isBag(notes) ? notes.junkIds : undefined
  if (!isBag(junk)) return undefined
  const entries = Object.entries(junk).filter((entry): entry is [string, string] => typeof entry[1] === 'string')
  return entries.length > 0 ? Object.fromEntries(entries) : undefined
}

function hasValue(event: SegmentEvent, path: string): boolean {
  let node: unknown = event
  for (const key of path.split('.')) {
    if (!isBag(node) || !Object.hasOwn(node, key)) return false
    node = node[key]
  }
  return node !== undefined && node !== null && !(typeof node === 'string' && node.trim() === '')
}

/**
 * Why `event` cannot run `subscriptions` for want of an id that was junk, or undefined when
 * nothing is missing for that reason. Reads the subscriptions' mappings (the paths each field's
 * directives read) and the event as it will run (account filled from the identity map).
 */
export function junkIdProblem(event: SegmentEvent, subscriptions: readonly ActiveSubscription[]): string | undefined {
  const junk = junkIdsNoted(event)
  if (!junk) return undefined
  for (const subscription of subscriptions) {
    for (const [field, directive] of Object.entries(subscription.mapping)) {
      const sources = mappingSources(directive)
      const junkSources = sources.filter((path) => Object.hasOwn(junk, path))
      if (junkSources.length === 0 || sources.some((path) => hasValue(event, path))) continue
      const sent = junkSources.map((path) => `${path} was ${JSON.stringify(junk[path])}`).join(', ')
      const others = sources.filter((path) => !junkSources.includes(path))
      const absent = others.length > 0 ? `; ${others.join(', ')} ${others.length > 1 ? 'are' : 'is'} absent` : ''
      return (
        `${field} has no usable id (${subscription.partnerAction}, subscription "${subscription.name}"): ${sent}, ` +
        `what a client sends when it has no id, counted as absent (context.csbRelay.junkIds)${absent}. Fix the sender to send the real id`
      )
    }
  }
  return undefined
}
