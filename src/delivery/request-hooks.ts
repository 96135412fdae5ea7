/**
 * What the relay sees of, and does around, each request of an action run: the hooks the seam
 * (actions-core.ts) calls, with the request as the action asks for it and the answer as
 * actions-core's request client read it.
 */

/** A request as the action hands it to its request client (before defaults and auth are merged in). */
export interface OutgoingRequest {
  method: string
  url: string
  headers: unknown
  /** The `json` option (sent as JSON), when the action used it. */
  json: unknown
  /** The `body` option, when the action used it instead. */
  body: unknown
}

/** CSB's answer to a request, as the request client read it. */
export interface Answer {
  /** The URL the request went to. */
  url: string
  /** The request's headers as sent (defaults and auth included). */
  requestHeaders: unknown
  status: number
  headers: unknown
  /** The body, parsed when it is JSON, else its text. */
  body: unknown
}

/** What the relay does around each request of one action run (each hook is optional). */
export interface RequestHooks {
  /**
   * The action asks for a request. Undefined: it is sent at once. A promise: it is sent when the
   * promise resolves; when it rejects, nothing is sent and the request fails with its reason.
   */
  request?(request: OutgoingRequest): Promise<void> | undefined
  /** The request is about to go out, defaults and auth merged in. Throwing stops it unsent. */
  sending?(final: { headers: unknown; basicAuth: boolean }): void
  /** The request got an answer (any status). */
  answered?(answer: Answer): void
}
