/**
 * What ingest reports as it works. The CLI passes an implementation backed by the metrics
 * registry (ops/); ingest never imports ops. Every method is optional to implement.
 */
export type IngestResult = 'accepted' | 'duplicate' | 'rejected' | 'throttled'

export interface IngestObserver {
  /** `count` events of `type` ("identify", "track", ..., or "unknown" when rejected unparsed) had `result`. */
  ingested?(type: string, result: IngestResult, count: number): void
  /** `source` was refused `events` events (429, none stored) for being over its rate limit. */
  rateLimited?(source: string, events: number): void
  /** `count` stored events had a malformed `field` (timestamp, sentAt, receivedAt), replaced by the time of receipt. */
  invalidTime?(field: string, count: number): void
  /** `count` stored events had a junk id at `path` (userId, traits.user_id...), removed. */
  junkId?(path: string, count: number): void
  /** A `delete` event made a regulation (the regulation runner takes it at once). */
  regulationCreated?(): void
  /** Seconds one store operation took ("admit", "counts", ...). */
  storeLatency?(operation: string, seconds: number): void
}
