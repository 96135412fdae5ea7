/** Requests from tests (and benches) to a relay (or the sandbox), over loopback. */

/** An HTTP Basic authorization header: a write key is the user name with an empty password, as Segment's SDKs send it. */
export function basicAuth(user: string, password = ''): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
}

/** A relay's answer to a tracking request. */
export interface Answer {
  status: number
  headers: Headers
  /** The Retry-After header (429 and 503 carry one), or null. */
  retryAfter: string | null
  /** The body as sent. */
  text: string
  /** The body parsed: the relay answers `{ success, error? }`. */
  json<T = { success: boolean; error?: string }>(): T
}

export interface PostOptions {
  /** More headers; an `authorization` here replaces the write key's. */
  headers?: Record<string, string>
  signal?: AbortSignal
}

/**
 * POSTs `body` to a tracking route (`/v1/batch`, `/v1/track`, `/v1/webhook`...) with the write key
 * by HTTP Basic (null: no key, as a signed webhook comes), as JSON: a string or a Buffer is sent
 * as it is, anything else as its JSON. Rejects when no answer comes.
 */
export async function postEvents(baseUrl: string, route: string, writeKey: string | null, body: unknown, options: PostOptions = {}): Promise<Answer> {
  const auth: Record<string, string> = writeKey === null ? {} : { authorization: basicAuth(writeKey) }
  const res = await fetch(`${baseUrl}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth, ...options.headers },
    body: typeof body === 'string' ? body : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body),
    signal: options.signal
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, retryAfter: res.headers.get('retry-after'), text, json: <T>() => JSON.parse(text) as T }
}

/**
 * postEvents' status, or 0 when no answer came within 15 s (a relay killed mid-request): callers
 * under load count those and send again.
 */
export async function postStatus(baseUrl: string, route: string, writeKey: string, body: unknown): Promise<number> {
  try {
    return (await postEvents(baseUrl, route, writeKey, body, { signal: AbortSignal.timeout(15_000) })).status
  } catch {
    return 0
  }
}

/** POST /v1/batch: postStatus for a batch of events. */
export function postBatch(baseUrl: string, writeKey: string, batch: unknown[]): Promise<number> {
  return postStatus(baseUrl, '/v1/batch', writeKey, { batch })
}
