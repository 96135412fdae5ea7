/** The `sources` of the config file and `CSB_RELAY_WRITE_KEYS`: who may send, and how fast. */
import { ConfigError } from './config-error'

type Json = Record<string, unknown>

export interface SourceConfig {
  /** Recorded with each event; shown in the dashboard instead of the write key. */
  name: string
  writeKey: string
  /**
   * Segment's Webhooks destinations sign with it (`X-Signature`); when set, /v1/webhook requests
   * of this source must carry a signature that verifies (docs/from-segment.md).
   */
  sharedSecret?: string
  /**
   * Whether this source's `type: "delete"` events run DELETE_ONLY regulations (docs/privacy.md).
   * By default only a source with a `sharedSecret` may: its /v1/webhook requests are signed, so
   * only Segment sends them. A write key alone can be public (a browser source's is in its
   * pages), and a deletion purges a user's data.
   */
  acceptDeletions?: boolean
  /** Events per second this source may send, averaged; over it, ingest answers 429 (docs/ingest.md). None when unset. */
  maxEventsPerSecond?: number
  /** Events the source may send at once above its rate; default one second's worth (ingest/rate-limit.ts). */
  burstEvents?: number
}

export function parseSources(fileSources: unknown, envKeys: string | undefined): SourceConfig[] {
  const sources: SourceConfig[] = []
  if (fileSources !== undefined) {
    if (!Array.isArray(fileSources)) throw new ConfigError('"sources" must be an array of {"name", "writeKey", "sharedSecret"?}')
    fileSources.forEach((s, i) => {
      const src = s as Json
      if (!src || typeof src.writeKey !== 'string' || src.writeKey === '') {
        throw new ConfigError(`sources[${i}].writeKey must be a non-empty string`)
      }
      const source: SourceConfig = { name: typeof src.name === 'string' && src.name ? src.name : `source-${i + 1}`, writeKey: src.writeKey }
      if (src.sharedSecret !== undefined) {
        if (typeof src.sharedSecret !== 'string' || src.sharedSecret === '') {
          throw new ConfigError(`sources[${i}].sharedSecret must be a non-empty string (the Shared Secret set in Segment's Webhooks destination), or left out`)
        }
        source.sharedSecret = src.sharedSecret
      }
      if (src.acceptDeletions !== undefined) {
        if (typeof src.acceptDeletions !== 'boolean') {
          throw new ConfigError(`sources[${i}].acceptDeletions must be true or false (whether this source's "delete" events purge users), got ${JSON.stringify(src.acceptDeletions)}`)
        }
      }
      const acceptDeletions = src.acceptDeletions ?? source.sharedSecret !== undefined
      if (acceptDeletions) source.acceptDeletions = true
      Object.assign(source, rateLimitOf(src, i))
      sources.push(source)
    })
  }
  if (envKeys) {
    envKeys
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean)
      .forEach((writeKey, i) => sources.push({ name: `env-${i + 1}`, writeKey }))
  }
  return sources
}

/** A source's `maxEventsPerSecond` and `burstEvents`, checked; neither when the source has no limit. */
function rateLimitOf(src: Json, i: number): Pick<SourceConfig, 'maxEventsPerSecond' | 'burstEvents'> {
  const { maxEventsPerSecond: rate, burstEvents: burst } = src
  if (rate === undefined) {
    if (burst !== undefined) throw new ConfigError(`sources[${i}].burstEvents needs sources[${i}].maxEventsPerSecond: set the rate, or leave both out for no limit`)
    return {}
  }
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
    throw new ConfigError(`sources[${i}].maxEventsPerSecond must be a number of events per second above 0 (e.g. 100), or left out for no limit; got ${JSON.stringify(rate)}`)
  }
  if (burst === undefined) return { maxEventsPerSecond: rate }
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1) {
    throw new ConfigError(`sources[${i}].burstEvents must be a whole number of events >= 1 (default: one second's worth, ${Math.ceil(rate)}); got ${JSON.stringify(burst)}`)
  }
  return { maxEventsPerSecond: rate, burstEvents: burst }
}

