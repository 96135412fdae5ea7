/**
 * Test helpers: destination settings with the presets as subscriptions, a throwaway HTTP server
 * for scripted answers, and a logger that records warnings.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { JSONObject, Logger } from '@segment/actions-core'
import destination from '..'
import type { Settings } from '../generated-types'

export const API_KEY = 'test-key-0123456789abcdefghijklmnopqrstuvwxyzAB'

/** The presets as Segment would store them: subscribe + partnerAction + mapping. */
export function presetSubscriptions(): JSONObject[] {
  return (destination.presets ?? []).map((preset) => {
    if (preset.type !== 'automatic') throw new Error('only automatic presets are expected')
    return { name: preset.name ?? '', subscribe: preset.subscribe, partnerAction: preset.partnerAction, mapping: preset.mapping ?? {} }
  })
}

export function settingsFor(baseUrl: string, extra: Partial<Settings> = {}): Settings {
  return { apiKey: API_KEY, baseUrl, ...extra }
}

/** Settings plus `subscriptions` = the presets, the way `Destination.onEvent` takes them. */
export function onEventSettings(baseUrl: string, extra: Partial<Settings> = {}): JSONObject {
  return { ...settingsFor(baseUrl, extra), subscriptions: presetSubscriptions() } as unknown as JSONObject
}

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
  const sockets = new Set<import('node:net').Socket>()
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

/** A Logger that keeps what was passed to `warn`. */
export function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = []
  const noop = (): void => undefined
  return {
    level: 'info',
    name: 'test',
    debug: noop,
    info: noop,
    warn: (...message: string[]) => void warnings.push(message.join(' ')),
    error: noop,
    crit: noop,
    log: noop,
    withTags: noop,
    warnings
  }
}

/** Runs `action` with its default mapping (plus `mapping`) and returns what the CSB side received. */
export async function runAction(
  csb: { url: string; apiKey: string; requests(): Array<{ path: string; body: unknown; headers: Record<string, string> }>; clearRequests(): void },
  action: string,
  event: Partial<import('@segment/actions-core').SegmentEvent>,
  options: { settings?: Partial<Settings>; mapping?: JSONObject; logger?: Logger } = {}
): Promise<{ path: string; body: unknown; headers: Record<string, string> }> {
  const { createTestIntegration } = await import('@segment/actions-core')
  csb.clearRequests()
  await createTestIntegration(destination).testAction(action, {
    event,
    settings: { ...settingsFor(csb.url), apiKey: csb.apiKey, ...options.settings },
    mapping: options.mapping,
    useDefaultMappings: true,
    logger: options.logger
  })
  const requests = csb.requests()
  if (requests.length !== 1) throw new Error(`expected 1 request, got ${requests.length}`)
  return requests[0]
}

/** The error `action` throws for `event` (fails the test if it does not throw). */
export async function actionError(
  action: string,
  event: Partial<import('@segment/actions-core').SegmentEvent>,
  options: { settings?: Partial<Settings>; mapping?: JSONObject } = {}
): Promise<Error & { status?: number }> {
  const { createTestIntegration } = await import('@segment/actions-core')
  const outcome = await createTestIntegration(destination)
    .testAction(action, {
      event,
      settings: { ...settingsFor('http://127.0.0.1:9'), ...options.settings },
      mapping: options.mapping,
      useDefaultMappings: true
    })
    .then(
      () => undefined,
      (e: Error & { status?: number }) => e
    )
  if (!outcome) throw new Error(`expected ${action} to throw`)
  return outcome
}
