/**
 * Helpers for the destination's tests that need real sockets: a throwaway HTTP server on
 * 127.0.0.1 with scripted answers, and a port with nothing listening. Settings helpers are the
 * destination folder's own.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export { API_KEY, onEventSettings, presetSubscriptions, settingsFor } from '../../src/destination/__tests__/__helpers__/helpers'

export interface ScriptedAnswer {
  status: number
  headers?: Record<string, string>
  body?: unknown
  /** Destroy the socket without answering. */
  drop?: boolean
  /** Wait this long before answering. */
  delayMs?: number
}

export interface ScriptedServer {
  url: string
  received: Array<{ path: string; headers: http.IncomingHttpHeaders; body: string }>
  close(): Promise<void>
}

/** A node:http server on 127.0.0.1 that answers each request with `answer(path)`. */
export async function scriptedServer(answer: (path: string) => ScriptedAnswer): Promise<ScriptedServer> {
  const received: ScriptedServer['received'] = []
  const sockets = new Set<Socket>()
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    req.on('end', () => {
      const path = req.url ?? '/'
      received.push({ path, headers: req.headers, body })
      const a = answer(path)
      const send = (): void => {
        if (a.drop) {
          req.socket.destroy()
          return
        }
        const text = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body)
        const type = typeof a.body === 'string' ? 'text/plain' : 'application/json'
        res.writeHead(a.status, { 'content-type': type, ...(a.headers ?? {}) })
        res.end(text)
      }
      if (a.delayMs) setTimeout(send, a.delayMs)
      else send()
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}
