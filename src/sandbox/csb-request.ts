/**
 * One request to a CSB endpoint: the injected fault, if any, decides the answer before CSB's
 * own checks do; the request is recorded, announced, and answered after the injected latency
 * (or its connection dropped, for a fault without a status).
 */
import type http from 'node:http'
import { answerCsbRequest, CSB_ENDPOINTS, parseBody } from './csb-checks'
import type { FaultEngine, Injected } from './fault-engine'
import { flatHeaders, MAX_BODY_BYTES, sendJson } from './http-io'
import type { Recorder } from './recorder'
import type { RecordedRequest } from './types'
import type { RequestWaiters } from './waiters'

export interface CsbRequestDeps {
  apiKey: string
  engine: FaultEngine
  recorder: Recorder
  waiters: RequestWaiters
  /** The caller's hook on every recorded request; what it throws is ignored. */
  onRequest?: (request: RecordedRequest) => void
}

/** Answers one request to a CSB path (`text` and `bytes`: its body, read by the server). */
export function handleCsbRequest(deps: CsbRequestDeps, req: http.IncomingMessage, res: http.ServerResponse, path: string, text: string, bytes: number): void {
  const { engine } = deps
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
      const answer = answerCsbRequest(required, headers.authorization, deps.apiKey, parsed)
      record.status = answer.status
      record.response = answer.body
    }
    if (latency > 0) record.latencyMs = latency
  }
  deps.recorder.add(record)
  deps.waiters.notify(record)
  if (deps.onRequest) {
    try {
      deps.onRequest(record)
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
    sendJson(res, record.status, record.response, extraHeaders)
  }
  if (latency > 0) setTimeout(respond, latency).unref()
  else respond()
}
