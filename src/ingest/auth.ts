/**
 * Write keys: which source a request comes from. Keys arrive as HTTP Basic (`writeKey:`,
 * as Segment's libraries send them) or as `writeKey` in the JSON body (the browser library).
 * Comparison is over SHA-256 digests with timingSafeEqual, so neither the key's length nor
 * its prefix leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

export interface IngestSource {
  /** Recorded with each event instead of the key. */
  name: string
  writeKey: string
  /** When set, /v1/webhook requests of this source must be signed with it (webhook-auth.ts). */
  sharedSecret?: string
  /** Its `type: "delete"` events run DELETE_ONLY regulations; without it they are refused (plugin.ts). */
  acceptDeletions?: boolean
  /** Events per second the source may send (rate-limit.ts); none when unset. */
  maxEventsPerSecond?: number
  /** Events it may send at once above that rate; default one second's worth. */
  burstEvents?: number
}

export const WRITE_KEY_HELP =
  'send the write key as HTTP Basic auth (username = write key, empty password) or as "writeKey" in the JSON body'

const digest = (value: string) => createHash('sha256').update(value).digest()

export class WriteKeys {
  private readonly entries: Array<{ source: IngestSource; digest: Buffer }>

  constructor(sources: readonly IngestSource[]) {
    this.entries = sources.map((s) => ({ source: s, digest: digest(s.writeKey) }))
  }

  /** The source name of `writeKey`, or undefined when no source has it. */
  sourceOf(writeKey: string): string | undefined {
    return this.find(writeKey)?.name
  }

  /** The source that has `writeKey`, or undefined. */
  find(writeKey: string): IngestSource | undefined {
    const presented = digest(writeKey)
    let found: IngestSource | undefined
    // Compare against every key, so timing does not say which (or whether one) matched.
    for (const entry of this.entries) {
      if (timingSafeEqual(presented, entry.digest) && found === undefined) found = entry.source
    }
    return found
  }
}

/** The write key in an `Authorization: Basic base64(writeKey:)` header, or undefined. */
export function writeKeyFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined
  const match = /^basic\s+(\S+)\s*$/i.exec(header)
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const key = colon === -1 ? decoded : decoded.slice(0, colon)
  return key === '' ? undefined : key
}
