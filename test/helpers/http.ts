/** Requests from tests to a relay (or the sandbox), over loopback. */

/** An HTTP Basic authorization header: a write key is the user name with an empty password, as Segment's SDKs send it. */
export function basicAuth(user: string, password = ''): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
}

/**
 * POST /v1/batch with the write key by HTTP Basic. Resolves with the status, or 0 when no answer
 * came (a relay killed mid-request): callers under load count those and send again.
 */
export async function postBatch(baseUrl: string, writeKey: string, batch: unknown[]): Promise<number> {
  try {
    const res = await fetch(`${baseUrl}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basicAuth(writeKey) },
      body: JSON.stringify({ batch }),
      signal: AbortSignal.timeout(15_000)
    })
    await res.arrayBuffer()
    return res.status
  } catch {
    return 0
  }
}
