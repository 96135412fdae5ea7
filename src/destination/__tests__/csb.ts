/**
 * The CSB the destination's tests talk to. Temporary stand-in with the sandbox's API until
 * src/sandbox lands: key check (Bearer or Basic), then 400 for an empty body or missing ids,
 * else {"success": true}; every request recorded with lower-case headers and parsed body.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

const REQUIRED: Record<string, string[]> = {
  '/api/v1_1/user': ['account_id', 'user_id'],
  '/api/v1_1/account': ['account_id'],
  '/api/v1_1/feature': ['account_id', 'user_id', 'product_id', 'module_id', 'feature_id'],
  '/api/v1_1/login': ['account_id', 'user_id'],
  '/api/v1_1/logout': ['account_id', 'user_id'],
  '/api_js/v1_1/page': ['account_id', 'user_id']
}

export interface CsbRequest {
  seq: number
  method: string
  path: string
  headers: Record<string, string>
  body: unknown
  status: number
  response: unknown
}

export interface Csb {
  url: string
  apiKey: string
  requests(): CsbRequest[]
  clearRequests(): void
  close(): Promise<void>
}

export async function startCsb(options: { apiKey?: string } = {}): Promise<Csb> {
  const apiKey = options.apiKey ?? 'sandbox-key'
  const recorded: CsbRequest[] = []
  let seq = 0
  const server = http.createServer((req, res) => {
    let text = ''
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v
      let body: unknown = text
      try {
        body = text ? JSON.parse(text) : ''
      } catch {
        body = text
      }
      const answer = decide(path, headers.authorization, apiKey, body)
      recorded.push({ seq: ++seq, method: req.method ?? '', path, headers, body, status: answer.status, response: answer.body })
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(answer.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests: () => recorded.slice(),
    clearRequests: () => void recorded.splice(0),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

function decide(path: string, authorization: string | undefined, apiKey: string, body: unknown): { status: number; body: unknown } {
  const required = REQUIRED[path]
  if (!required) return { status: 404, body: { success: false, message: 'not found' } }
  const ok =
    authorization === `Bearer ${apiKey}` || authorization === `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`
  if (!ok) return { status: 401, body: { success: false, message: 'invalid API key' } }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { status: 400, body: { success: false, message: 'empty body' } }
  const missing = required.filter((f) => (body as Record<string, unknown>)[f] === undefined)
  if (missing.length) return { status: 400, body: { success: false, message: `missing ${missing.join(', ')}` } }
  return { status: 200, body: { success: true } }
}
