/**
 * Reading requests and writing JSON answers on plain node:http: the sandbox's own small layer,
 * kept short because every CSB request of a benchmark goes through it.
 */
import type http from 'node:http'

/** Bodies above this are answered 413 and not kept. */
export const MAX_BODY_BYTES = 1024 * 1024

/**
 * Collects the body as UTF-8 text; past MAX_BODY_BYTES it is counted, not kept, and the text
 * is empty. `done` runs once the request has ended.
 */
export function readBody(req: http.IncomingMessage, done: (text: string, bytes: number) => void): void {
  const chunks: Buffer[] = []
  let bytes = 0
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length
    if (bytes <= MAX_BODY_BYTES) chunks.push(chunk)
  })
  req.on('error', () => {}) // a client that hangs up mid-body: nothing to answer
  req.on('end', () => {
    const text = bytes > MAX_BODY_BYTES ? '' : chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')
    done(text, bytes)
  })
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, extraHeaders?: Record<string, string>): void {
  const text = JSON.stringify(body)
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }
  if (extraHeaders) Object.assign(headers, extraHeaders)
  res.writeHead(status, headers)
  res.end(text)
}

export function splitUrl(url: string): [path: string, query: string] {
  const q = url.indexOf('?')
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)]
}

export function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  // Node joins repeated headers itself, except set-cookie, which stays an array.
  const cookies = headers['set-cookie']
  if (cookies === undefined) return headers as Record<string, string>
  return { ...(headers as Record<string, string>), 'set-cookie': cookies.join(', ') }
}
