/** A loopback stand-in for a webhook endpoint: records every request, answers 503 while told to. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HookRequest {
  at: number
  status: number
  headers: http.IncomingHttpHeaders
  body: unknown
}

export interface HookServer {
  url: string
  requests: HookRequest[]
  /** Answer 503 until this time (ms since the epoch). */
  failUntil: number
  /** Answer 503 to the next N requests. */
  failNext: number
  /** Answer this status to every request (after the 503s above), when set. */
  answer?: number
  /** The bodies of requests answered 2xx, each array flattened into its items. */
  accepted(): Array<Record<string, unknown>>
  close(): Promise<void>
}

export async function startHookServer(): Promise<HookServer> {
  const hook: HookServer = {
    url: '',
    requests: [],
    failUntil: 0,
    failNext: 0,
    accepted: () => hook.requests.filter((r) => r.status < 300).flatMap((r) => (Array.isArray(r.body) ? r.body : [r.body])) as Array<Record<string, unknown>>,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let body: unknown = null
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        body = Buffer.concat(chunks).toString('utf8')
      }
      let status = 200
      if (Date.now() < hook.failUntil) status = 503
      else if (hook.failNext > 0) {
        hook.failNext--
        status = 503
      } else if (hook.answer !== undefined) status = hook.answer
      hook.requests.push({ at: Date.now(), status, headers: req.headers, body })
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok: status === 200 }))
    })
  })
  server.keepAliveTimeout = 1000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return hook
}
