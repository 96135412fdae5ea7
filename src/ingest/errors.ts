/**
 * A request ingest refuses, with the HTTP status it answers and a message that names the
 * problem (and, in a batch, the index of each bad event).
 */
export class IngestError extends Error {
  override name = 'IngestError'
  constructor(
    readonly statusCode: 400 | 401 | 403 | 404 | 405 | 413 | 415 | 429 | 503,
    message: string,
    /** Seconds, for 429 and 503. */
    readonly retryAfterSeconds?: number
  ) {
    super(message)
  }
}

export const badRequest = (message: string) => new IngestError(400, message)
export const tooLarge = (message: string) => new IngestError(413, message)
