/**
 * The shapes of the sandbox's public surface: options, the handle `startSandbox` returns, what it
 * records, and the fault-injection JSON (the same shape over HTTP and in code).
 */

export interface SandboxOptions {
  /** 0 = an ephemeral port (the default for tests); the CLI defaults to 8081. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** The key CSB requests must carry (Bearer, or Basic with the key as user). Default `sandbox-key`. */
  apiKey?: string
  /** Faults active from the start. */
  faults?: FaultsInput
  /** Most requests kept in memory; the oldest are dropped beyond it. Default 1,000,000. */
  recordLimit?: number
  /** Seed for the fault dice (latency, error rates, drops), for reproducible runs. Default: random. */
  seed?: number
  /** Called once per CSB-side request after its outcome is decided (the CLI logs from here). */
  onRequest?: (request: RecordedRequest) => void
}

export interface Sandbox {
  /** `http://HOST:PORT`, with the actual port when started on port 0 (loopback when HOST is 0.0.0.0 or ::). */
  url: string
  port: number
  apiKey: string
  /** Everything received on the CSB side (not `/_sandbox/*`), oldest first. */
  requests(filter?: RequestFilter): RecordedRequest[]
  clearRequests(): void
  /** Merges a partial fault set into the current one (each key given replaces that key; null clears it). */
  setFaults(faults: FaultsInput): void
  clearFaults(): void
  faults(): Faults
  /**
   * Resolves with the recording (filtered by `path` when given) once it holds at least `count`
   * requests; rejects after `timeoutMs` (default 10 s) saying how many it saw.
   */
  waitForRequests(count: number, options?: { path?: string; timeoutMs?: number }): Promise<RecordedRequest[]>
  close(): Promise<void>
}

export interface RequestFilter {
  /** Only requests to this exact path. */
  path?: string
  /** Only requests with `seq` greater than this. */
  since?: number
  /** At most this many (the oldest that match). */
  limit?: number
}

/** What produced a response other than CSB's own checks. */
export type FaultKind = 'outage' | 'rule' | 'rateLimit' | 'throttle' | 'error' | 'drop'

export interface RecordedRequest {
  /** 1, 2, 3, ... in order of arrival; never reused, not even after `clearRequests()`. */
  seq: number
  /** ISO 8601 time the request's body was complete. */
  at: string
  method: string
  /** The path without the query string. */
  path: string
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>
  /** Parsed JSON, or the raw text when the body is not JSON ('' when empty). */
  body: unknown
  /** The status sent; 0 when the connection was dropped without a response. */
  status: number
  /** The JSON body sent; null when none was sent. */
  response: unknown
  /** Set when an injected fault, not CSB's own checks, decided the response. */
  fault?: FaultKind
  /** The injected latency, in ms, when there was one. */
  latencyMs?: number
}

// ---- Faults ----------------------------------------------------------------------------------

export type LatencyFault =
  | { distribution: 'fixed'; ms: number }
  | { distribution: 'uniform'; minMs: number; maxMs: number }
  | { distribution: 'normal'; meanMs: number; stdDevMs: number; maxMs?: number }
  | { distribution: 'exponential'; meanMs: number; maxMs?: number }

/** A share of requests answered 429, with `Retry-After` when `retryAfterSeconds` is set. */
export interface ThrottleFault {
  rate: number
  retryAfterSeconds?: number
}

/** A token bucket: `burst` requests at once, refilled at `perSecond`; the excess gets 429. */
export interface RateLimitFault {
  perSecond: number
  burst: number
  /** Seconds, or 'auto' for the time until the next token (rounded up). Absent: no header. */
  retryAfterSeconds?: number | 'auto'
}

/**
 * An outage that starts when it is set and lasts `seconds`. Mode `status` answers `status`
 * (default 503) to every CSB request; mode `refuse` closes the listening socket (connections are
 * refused, open ones destroyed) and listens again on the same port afterwards.
 */
export interface OutageFault {
  seconds: number
  mode: 'status' | 'refuse'
  status: number
  /** `status` mode only; 'auto' = the seconds left, rounded up. */
  retryAfterSeconds?: number | 'auto'
  /** Set by the sandbox: when the outage ends. */
  endsAt?: string
}

export interface RuleMatch {
  /** Exact path; absent = every CSB endpoint. */
  path?: string
  /** Top-level body keys that must equal these values (deep equality). */
  body?: Record<string, unknown>
  /** Header values that must match exactly (names case-insensitive). */
  headers?: Record<string, string>
}

/**
 * A targeted fault: matching requests get `status` (or a dropped connection when `drop` is
 * true), for the first `count` matches and/or for `forSeconds` from the first match; with
 * neither, for as long as the rule is set. Rules are tried in order; the first live match wins.
 */
export interface FaultRule {
  match: RuleMatch
  status?: number
  drop?: boolean
  count?: number
  forSeconds?: number
  retryAfterSeconds?: number
  message?: string
  /** Set by the sandbox: how many requests this rule has failed so far. */
  hits?: number
  /** Set by the sandbox: when a `forSeconds` rule stops (after its first match). */
  endsAt?: string
  /** Set by the sandbox: true once the rule's count or time is used up. */
  expired?: boolean
}

export interface Faults {
  latency: LatencyFault | null
  /** Status code → share of requests (0..1) answered with it; the shares add up to at most 1. */
  errors: Record<string, number>
  throttle: ThrottleFault | null
  rateLimit: RateLimitFault | null
  outage: OutageFault | null
  /** Share of requests (0..1) whose connection is destroyed without a response. */
  dropRate: number
  rules: FaultRule[]
}

/**
 * What `setFaults` and `POST /_sandbox/faults` accept: any subset of `Faults`, where null clears a
 * key, `latency` may be a plain number of ms, `rateLimit.burst` defaults to `perSecond`,
 * `outage.mode` to 'status' and `outage.status` to 503. `reset: true` clears everything first.
 */
export interface FaultsInput {
  reset?: boolean
  latency?: number | LatencyFault | null
  errors?: Record<string, number> | null
  throttle?: ThrottleFault | null
  rateLimit?: (Omit<RateLimitFault, 'burst'> & { burst?: number }) | null
  outage?: (Omit<OutageFault, 'mode' | 'status' | 'endsAt'> & { mode?: OutageFault['mode']; status?: number }) | null
  dropRate?: number | null
  rules?: FaultRule[] | null
}
