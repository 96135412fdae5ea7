/**
 * The sandbox's HTTP server (plain node:http, to keep the hot path short): CSB's endpoints with
 * injected faults in front of CSB's own checks, the `/_sandbox/*` control endpoints, and the
 * listening socket's life, which a refuse-mode outage closes and reopens on the same port.
 */
import http from 'node:http'
import type { Socket } from 'node:net'
import { answerCsbRequest, CSB_ENDPOINTS, parseBody } from './csb-checks'
import { handleControl } from './control'
import { parseFaultsInput } from './fault-input'
import { FaultEngine, seededRandom, type ActiveOutage, type Injected } from './fault-engine'
import { Recorder } from './recorder'
import type { RecordedRequest, Sandbox, SandboxOptions } from './types'

export const DEFAULT_API_KEY = 'sandbox-key'
export const DEFAULT_RECORD_LIMIT = 1_000_000
/** Bodies above this are answered 413 and not kept. */
export const MAX_BODY_BYTES = 1024 * 1024
/** How often re-listening after an outage is retried while the port is busy. */
const RELISTEN_RETRY_MS = 100
/** Idle keep-alive sockets are closed after this (Node's default of 5 s races clients that keep them longer). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000

function checkOptions(options: SandboxOptions): { port: number; host: string; apiKey: string; recordLimit: number } {
  const port = options.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`sandbox: port must be an integer from 0 to 65535, got ${String(options.port)}`)
  const host = options.host ?? '127.0.0.1'
  if (typeof host !== 'string' || host === '') throw new TypeError('sandbox: host must be a non-empty string')
  const apiKey = options.apiKey ?? DEFAULT_API_KEY
  if (typeof apiKey !== 'string' || apiKey === '') throw new TypeError('sandbox: apiKey must be a non-empty string')
  const recordLimit = options.recordLimit ?? DEFAULT_RECORD_LIMIT
  if (!Number.isInteger(recordLimit) || recordLimit < 1) throw new TypeError(`sandbox: recordLimit must be an integer >= 1, got ${String(options.recordLimit)}`)
  return { port, host, apiKey, recordLimit }
}

function send(res: http.ServerResponse, status: number, body: unknown, extraHeaders?: Record<string, string>): void {
  const text = JSON.stringify(body)
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }
  if (extraHeaders) Object.assign(headers, extraHeaders)
  res.writeHead(status, headers)
  res.end(text)
}

function pathAndQuery(url: string): [string, string] {
  const q = url.indexOf('?')
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)]
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  // Node joins repeated headers itself, except set-cookie, which stays an array.
  const cookies = headers['set-cookie']
  if (cookies === undefined) return headers as Record<string, string>
  return { ...(headers as Record<string, string>), 'set-cookie': cookies.join(', ') }
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const { port: requestedPort, host, apiKey, recordLimit } = checkOptions(options)
  if (options.faults) parseFaultsInput(options.faults) // a bad fault set fails before anything listens
  const recorder = new Recorder(recordLimit)
  const random = options.seed === undefined ? Math.random : seededRandom(options.seed)
  const sockets = new Set<Socket>()
  let listening = false
  let closed = false
  let port = requestedPort
  let relistenTimer: NodeJS.Timeout | undefined
  /** The control request that started a refuse-mode outage: its socket lives long enough to answer. */
  let sparedSocket: Socket | null = null

  const server = http.createServer({ keepAlive: true }, (req, res) => onRequest(req, res))
  // Longer than clients keep idle sockets, so a request never races the server closing one.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  function listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        server.off('listening', onListening)
        reject(err)
      }
      const onListening = () => {
        server.off('error', onError)
        listening = true
        resolve()
      }
      server.once('error', onError)
      server.once('listening', onListening)
      server.listen(port, host)
    })
  }

  function stopListening(): void {
    if (listening) {
      listening = false
      server.close()
    }
    for (const socket of sockets) if (socket !== sparedSocket) socket.destroy()
  }

  function relisten(): void {
    if (closed || listening) return
    listen().then(
      () => {
        // Closed, or a new refuse outage began, while the listen was under way.
        if (closed || engine.activeOutage()?.mode === 'refuse') stopListening()
      },
      () => {
        if (!closed) relistenTimer = setTimeout(relisten, RELISTEN_RETRY_MS)
      }
    )
  }

  function onOutage(next: ActiveOutage | null, previous: ActiveOutage | null): void {
    clearTimeout(relistenTimer)
    relistenTimer = undefined
    if (next?.mode === 'refuse') {
      stopListening()
      relistenTimer = setTimeout(() => engine.endOutage(), Math.max(0, next.endsAtMs - Date.now()))
    } else if (previous?.mode === 'refuse') {
      relisten()
    }
  }

  const engine = new FaultEngine(random, onOutage)

  /** A `waitForRequests` call; `seen` is kept up to date per request, so waiting costs O(1) per request. */
  interface Waiter {
    count: number
    path?: string
    seen: number
    resolve: (requests: RecordedRequest[]) => void
  }
  let waiters: Waiter[] = []

  function matching(path: string | undefined): RecordedRequest[] {
    return recorder.list(path === undefined ? {} : { path })
  }

  function notifyWaiters(record: RecordedRequest): void {
    waiters = waiters.filter((waiter) => {
      if (waiter.path !== undefined && waiter.path !== record.path) return true
      if (++waiter.seen < waiter.count) return true
      waiter.resolve(matching(waiter.path))
      return false
    })
  }

  function clearRequests(): void {
    recorder.clear()
    for (const waiter of waiters) waiter.seen = 0
  }

  function onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const [path, query] = pathAndQuery(req.url ?? '/')
    const chunks: Buffer[] = []
    let bytes = 0
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on('error', () => {}) // a client that hangs up mid-body: nothing to answer
    req.on('end', () => {
      const text = bytes > MAX_BODY_BYTES ? '' : chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')
      try {
        if (path.startsWith('/_sandbox/') || path === '/_sandbox') {
          handleControl({ req, res, path, query, text, bytes, recorder, clearRequests, engine, send, spare: (s) => (sparedSocket = s) })
        } else {
          answerCsb(req, res, path, text, bytes)
        }
      } catch (err) {
        // Nothing a client sends may take the sandbox down; say what went wrong instead.
        if (!res.headersSent && !res.destroyed) send(res, 500, { success: false, message: `sandbox error: ${(err as Error).message}` })
      } finally {
        sparedSocket = null
      }
    })
  }

  function answerCsb(req: http.IncomingMessage, res: http.ServerResponse, path: string, text: string, bytes: number): void {
    const method = req.method ?? 'GET'
    const headers = flatHeaders(req.headers)
    const parsed = parseBody(text)
    const record: RecordedRequest = {
      seq: 0,
      at: new Date().toISOString(),
      method,
      path,
      headers,
      body: parsed.ok ? parsed.value : parsed.text,
      status: 0,
      response: null
    }
    const required = CSB_ENDPOINTS.get(path)
    let fault: Injected | null = null
    let extraHeaders: Record<string, string> | undefined
    let latency = 0
    if (!required) {
      record.status = 404
      record.response = { success: false, message: `unknown endpoint: ${path}` }
    } else if (method !== 'POST') {
      record.status = 405
      record.response = { success: false, message: `${path} accepts POST only` }
      extraHeaders = { allow: 'POST' }
    } else if (bytes > MAX_BODY_BYTES) {
      record.status = 413
      record.response = { success: false, message: `body of ${bytes} bytes is over the sandbox's ${MAX_BODY_BYTES} byte limit` }
      record.body = ''
    } else {
      fault = engine.decide(path, headers, parsed)
      latency = engine.latencyMs()
      if (fault) {
        record.fault = fault.kind
        if (fault.status !== undefined) {
          record.status = fault.status
          record.response = fault.body
          if (fault.retryAfterSeconds !== undefined) extraHeaders = { 'retry-after': String(fault.retryAfterSeconds) }
        }
      } else {
        const answer = answerCsbRequest(required, headers.authorization, apiKey, parsed)
        record.status = answer.status
        record.response = answer.body
      }
      if (latency > 0) record.latencyMs = latency
    }
    recorder.add(record)
    if (waiters.length > 0) notifyWaiters(record)
    if (options.onRequest) {
      try {
        options.onRequest(record)
      } catch {
        // a logging hook must not take the sandbox down
      }
    }
    const respond = () => {
      if (res.destroyed || req.socket.destroyed) {
        record.status = 0
        record.response = null
        return
      }
      if (record.status === 0) {
        req.socket.destroy()
        return
      }
      send(res, record.status, record.response, extraHeaders)
    }
    if (latency > 0) setTimeout(respond, latency).unref()
    else respond()
  }

  await listen()
  const address = server.address()
  if (address && typeof address === 'object') port = address.port
  // Listening on every address: clients still reach it on loopback (which the destination accepts over http).
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  const urlHost = reachable.includes(':') ? `[${reachable}]` : reachable

  if (options.faults) engine.set(options.faults)

  return {
    url: `http://${urlHost}:${port}`,
    port,
    apiKey,
    requests: (filter) => recorder.list(filter),
    clearRequests,
    setFaults: (faults) => engine.set(faults),
    clearFaults: () => engine.clear(),
    faults: () => engine.snapshot(),
    waitForRequests: (count, { path, timeoutMs = 10_000 } = {}) => {
      const found = matching(path)
      if (found.length >= count) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter)
          const seen = matching(path).length
          reject(new Error(`sandbox: waited ${timeoutMs} ms for ${count} request(s)${path ? ` to ${path}` : ''}, saw ${seen}`))
        }, timeoutMs)
        const waiter: Waiter = {
          count,
          path,
          seen: found.length,
          resolve: (requests) => {
            clearTimeout(timer)
            resolve(requests)
          }
        }
        waiters.push(waiter)
      })
    },
    close: () => {
      if (closed) return Promise.resolve()
      closed = true
      clearTimeout(relistenTimer)
      return new Promise<void>((resolve) => {
        if (listening) {
          listening = false
          server.close(() => resolve())
        } else {
          resolve()
        }
        for (const socket of sockets) socket.destroy()
      })
    }
  }
}
