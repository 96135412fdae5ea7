/**
 * A TLS-terminating reverse proxy on 127.0.0.1, as a relay behind a load balancer sees one: it
 * forwards every request to `target` with `X-Forwarded-Host` (the Host the client used) and
 * `X-Forwarded-Proto: https`. Its certificate (test/fixtures/tls/) is self-signed for
 * 127.0.0.1 and protects nothing: a browser must be told to accept it.
 */
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import type { AddressInfo } from 'node:net'

const TLS = path.resolve(__dirname, '../fixtures/tls')

export interface TlsProxy {
  /** `https://127.0.0.1:PORT` */
  url: string
  /** What reached the target, in order: method, path and the forwarded headers. */
  forwarded: Array<{ method: string; url: string; host: string; proto: string }>
  close(): Promise<void>
}

export async function startTlsProxy(target: string): Promise<TlsProxy> {
  const to = new URL(target)
  const forwarded: TlsProxy['forwarded'] = []
  const server = https.createServer(
    { key: fs.readFileSync(path.join(TLS, 'loopback.key')), cert: fs.readFileSync(path.join(TLS, 'loopback.crt')) },
    (req, res) => {
      const host = req.headers.host ?? ''
      forwarded.push({ method: req.method ?? '', url: req.url ?? '', host, proto: 'https' })
      const upstream = http.request(
        {
          hostname: to.hostname,
          port: to.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: to.host, 'x-forwarded-host': host, 'x-forwarded-proto': 'https' }
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        }
      )
      upstream.on('error', () => { res.writeHead(502).end() })
      req.pipe(upstream)
    }
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwarded,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
