/**
 * A tiny static server on 127.0.0.1 for browser tests: `/` is the given HTML, `/analytics.js`
 * the UMD build of @segment/analytics-next, `/analytics-next/bundles/*` its lazy chunks.
 */
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { AddressInfo } from 'node:net'

const UMD_DIR = path.dirname(require.resolve('@segment/analytics-next/dist/umd/index.js'))

export interface PageServer {
  url: string
  requests: string[]
  close(): Promise<void>
}

export async function startPageServer(html: string): Promise<PageServer> {
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push(url.pathname)
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type })
      res.end(body)
    }
    if (url.pathname === '/') return send(200, 'text/html; charset=utf-8', html)
    if (url.pathname === '/analytics.js') return send(200, 'text/javascript', fs.readFileSync(path.join(UMD_DIR, 'index.js')))
    const chunk = /^\/analytics-next\/bundles\/([\w.-]+\.js)$/.exec(url.pathname)
    if (chunk && fs.existsSync(path.join(UMD_DIR, chunk[1]!))) {
      return send(200, 'text/javascript', fs.readFileSync(path.join(UMD_DIR, chunk[1]!)))
    }
    send(404, 'text/plain', 'not found')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}
