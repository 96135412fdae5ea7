import path from 'node:path'
/** Ingest: Segment's tracking API in front of the store. */
export { ingestPlugin, type IngestOptions, type IngestLimits } from './plugin'
export { orderingKeyOf } from './ordering-key'
export { WriteKeys, writeKeyFromAuthorization, type IngestSource } from './auth'
export { ensureWriteKey, newWriteKey, GENERATED_WRITE_KEY_META, type WriteKeySetup } from './write-key'
export { browserSettings } from './browser-settings'
export { ROUTES, routeOf, eventsOfRequest, type Route } from './events'
export { IngestError } from './errors'
export type { IngestObserver, IngestResult } from './observer'

/** The store expander (StoreOptions.expander) for the opaque batches ingest's parse threads admit. */
export const INGEST_EXPANDER = path.join(__dirname, __filename.endsWith('.ts') ? 'opaque.ts' : 'opaque.js')
