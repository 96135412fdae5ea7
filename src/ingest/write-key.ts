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

export async function ensureWriteKey(store: Pick<Store, 'getMeta' | 'setMeta'>, configured: readonly IngestSource[]): Promise<WriteKeySetup> {
  if (configured.length > 0) return { sources: [...configured] }
  const existing = await store.getMeta(GENERATED_WRITE_KEY_META)
  const writeKey = existing ?? newWriteKey()
  if (existing === null) await store.setMeta(GENERATED_WRITE_KEY_META, writeKey)
  return { sources: [{ name: GENERATED_SOURCE_NAME, writeKey }], generated: { writeKey, createdNow: existing === null } }
}
