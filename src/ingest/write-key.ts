/**
 * The write key a relay with none configured uses: generated on first start, kept in the
 * store's meta table, the same on every later start.
 */
import { randomBytes } from 'node:crypto'
import type { Store } from '../store/types'
import type { IngestSource } from './auth'

export const GENERATED_WRITE_KEY_META = 'ingest.generatedWriteKey'
export const GENERATED_SOURCE_NAME = 'default'

export interface WriteKeySetup {
  sources: IngestSource[]
  /** Set when the relay runs on its generated key. */
  generated?: { writeKey: string; createdNow: boolean }
}

export function newWriteKey(): string {
  return `wk_${randomBytes(24).toString('base64url')}`
}

/**
 * The configured sources, or the generated key's. Relays starting together on one empty database
 * agree on one key: each offers a new key, the store keeps the first, and every relay uses the
 * key kept (only the one whose key was kept reports it as created now).
 */
export async function ensureWriteKey(store: Pick<Store, 'getMeta' | 'setMetaIfAbsent'>, configured: readonly IngestSource[]): Promise<WriteKeySetup> {
  if (configured.length > 0) return { sources: [...configured] }
  const existing = await store.getMeta(GENERATED_WRITE_KEY_META)
  let writeKey = existing
  let createdNow = false
  if (writeKey === null) {
    const offered = newWriteKey()
    writeKey = await store.setMetaIfAbsent(GENERATED_WRITE_KEY_META, offered)
    createdNow = writeKey === offered
  }
  return { sources: [{ name: GENERATED_SOURCE_NAME, writeKey }], generated: { writeKey, createdNow } }
}
