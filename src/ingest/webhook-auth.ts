/**
 * Which source a /v1/webhook request comes from. Segment's Webhooks destinations authenticate
 * in one of two ways, chosen per source:
 *
 * - the write key, as HTTP Basic (an `Authorization` header added in the Webhooks (Actions)
 *   mapping) or as `?writeKey=` in the URL, for senders that cannot set headers;
 * - a signature: `X-Signature`, the hex HMAC-SHA1 with the source's `sharedSecret` of what
 *   Segment signs. For one event (classic Webhooks; Webhooks (Actions) without batching) that is
 *   the body. For an array (Webhooks (Actions) with batching) it is `JSON.stringify` of the first
 *   event alone: the destination's `extendRequest` signs `payload[0].data`, not the body it sends,
 *   so the other events of a signed array are not covered by the signature.
 *
 * A source with a `sharedSecret` needs the signature (its write key alone is not enough); a
 * source without one needs its write key. A signed request without a key belongs to the source
 * whose secret verifies it. Anything else is a 401, before the body is parsed or stored.
 * Digests are compared with timingSafeEqual, against every candidate secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { WriteKeys, writeKeyFromAuthorization, type IngestSource } from './auth'
import { IngestError } from './errors'

export const WEBHOOK_AUTH_HELP =
  'send the write key as HTTP Basic auth (an "Authorization: Basic base64(writeKey:)" header in the mapping) or as ?writeKey= in the URL, ' +
  'or sign with the source\'s sharedSecret (X-Signature); see docs/from-segment.md'

export interface WebhookCredentials {
  authorization: string | undefined
  /** The `writeKey` query parameter, as fastify parsed it (a string, an array when repeated). */
  queryWriteKey: unknown
  /** The `X-Signature` header. */
  signature: string | string[] | undefined
  /** The body after gunzip. */
  body: Uint8Array
}

const SHA1_HEX = /^[0-9a-f]{40}$/i

/** The hex HMAC-SHA1 Segment sends as `X-Signature`. */
export function webhookSignature(secret: string, signed: Uint8Array | string): string {
  return createHmac('sha1', secret).update(signed).digest('hex')
}

const isSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

function skipSpace(bytes: Uint8Array, from: number): number {
  let i = from
  while (isSpace(bytes[i])) i++
  return i
}

/**
 * The bytes of the first element of a JSON array, found without parsing the rest (a batch of a
 * thousand events is parsed once, later, maybe on a parse thread); undefined when `bytes` is not
 * an array with a first element. JSON's structural characters are ASCII, and UTF-8 never uses
 * ASCII bytes inside a multi-byte character, so a byte scan finds them.
 */
export function firstElement(bytes: Uint8Array): Uint8Array | undefined {
  let i = skipSpace(bytes, 0)
  if (bytes[i] !== 0x5b) return undefined
  const start = skipSpace(bytes, i + 1)
  let depth = 0
  for (i = start; i < bytes.length; i++) {
    const c = bytes[i]
    if (c === 0x22) {
      // A string: skip to its closing quote, stepping over escapes.
      for (i++; i < bytes.length && bytes[i] !== 0x22; i++) if (bytes[i] === 0x5c) i++
      if (i >= bytes.length) return undefined
    } else if (c === 0x7b || c === 0x5b) {
      depth++
    } else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return i > start ? bytes.subarray(start, i) : undefined
      depth--
    } else if (depth === 0 && (c === 0x2c || isSpace(c))) {
      return i > start ? bytes.subarray(start, i) : undefined
    }
    if (depth === 0 && (c === 0x7d || c === 0x5d || c === 0x22)) return bytes.subarray(start, i + 1)
  }
  return undefined
}

/** What Segment signs for this body (see the top of this file), or undefined when nothing can verify. */
export function signedPart(body: Uint8Array): Uint8Array | undefined {
  if (body[skipSpace(body, 0)] !== 0x5b) return body
  const first = firstElement(body)
  if (first === undefined) return undefined
  try {
    return Buffer.from(JSON.stringify(JSON.parse(Buffer.from(first.buffer, first.byteOffset, first.byteLength).toString('utf8'))), 'utf8')
  } catch {
    return undefined
  }
}

/** The presented signature as 20 bytes, or undefined when it is missing or not 40 hex digits. */
function presentedDigest(signature: string | string[] | undefined): Buffer | undefined {
  if (typeof signature !== 'string') return undefined
  const hex = signature.trim()
  return SHA1_HEX.test(hex) ? Buffer.from(hex, 'hex') : undefined
}

function verifies(presented: Buffer | undefined, secret: string, signed: Uint8Array | undefined): boolean {
  if (presented === undefined || signed === undefined) return false
  return timingSafeEqual(presented, createHmac('sha1', secret).update(signed).digest())
}

const refuse = (message: string) => new IngestError(401, message)

export class WebhookAuth {
  private readonly keys: WriteKeys
  private readonly signing: IngestSource[]

  constructor(sources: readonly IngestSource[]) {
    this.keys = new WriteKeys(sources)
    this.signing = sources.filter((s) => s.sharedSecret !== undefined && s.sharedSecret !== '')
  }

  /** The source name of the request; throws a 401 IngestError naming what is wrong. */
  sourceOf(credentials: WebhookCredentials): string {
    const { authorization, queryWriteKey, signature, body } = credentials
    const query = typeof queryWriteKey === 'string' && queryWriteKey !== '' ? queryWriteKey : undefined
    const key = writeKeyFromAuthorization(authorization) ?? query
    const presented = presentedDigest(signature)
    if (signature !== undefined && presented === undefined) {
      throw refuse('X-Signature must be 40 hex digits: the HMAC-SHA1 of the body with the source\'s sharedSecret')
    }

    if (key !== undefined) {
      const source = this.keys.find(key)
      if (source === undefined) throw refuse(`write key not recognised: ${WEBHOOK_AUTH_HELP}`)
      if (source.sharedSecret === undefined || source.sharedSecret === '') return source.name
      if (presented === undefined) {
        throw refuse('this source has a sharedSecret, so requests must be signed: set the same Shared Secret in Segment\'s Webhooks destination (X-Signature)')
      }
      if (!verifies(presented, source.sharedSecret, signedPart(body))) {
        throw refuse('X-Signature does not verify with this source\'s sharedSecret: check that Segment\'s Shared Secret and the config file\'s sharedSecret are the same')
      }
      return source.name
    }

    if (presented === undefined) throw refuse(`no credentials: ${WEBHOOK_AUTH_HELP}`)
    const signed = signedPart(body)
    let found: IngestSource | undefined
    // Every secret is tried, so timing does not say which (or whether one) verified.
    for (const source of this.signing) {
      if (verifies(presented, source.sharedSecret!, signed) && found === undefined) found = source
    }
    if (found === undefined) {
      throw refuse('X-Signature does not verify with any source\'s sharedSecret: check that Segment\'s Shared Secret is a "sharedSecret" in the config file\'s "sources"')
    }
    return found.name
  }
}
