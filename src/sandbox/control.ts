/**
 * The `/_sandbox/*` endpoints: read and clear the recording, read and change the faults, health.
 * They need no key and no fault ever applies to them.
 */
import type http from 'node:http'
import type { Socket } from 'node:net'
import type { FaultEngine } from './fault-engine'
import { FaultsError } from './fault-input'
import type { Recorder } from './recorder'
import type { RequestFilter } from './types'

export interface ControlContext {
  req: http.IncomingMessage
  res: http.ServerResponse
  path: string
  query: string
  text: string
  bytes: number
  recorder: Recorder
  /** Clears the recording (and restarts the counts of anyone waiting for requests). */
  clearRequests: () => void
  engine: FaultEngine
  send: (res: http.ServerResponse, status: number, body: unknown, headers?: Record<string, string>) => void
  /** Keeps this request's socket open through a refuse-mode outage it starts, so it can answer. */
  spare: (socket: Socket) => void
}

const ROUTES: Record<string, string[]> = {
  '/_sandbox/health': ['GET'],
  '/_sandbox/requests': ['GET', 'DELETE'],
  '/_sandbox/faults': ['GET', 'POST', 'DELETE']
}

function fail(ctx: ControlContext, status: number, message: string, headers?: Record<string, string>): void {
  ctx.send(ctx.res, status, { success: false, message }, headers)
}

function parseFilter(query: string): RequestFilter | string {
  const params = new URLSearchParams(query)
  const filter: RequestFilter = {}
  const path = params.get('path')
  if (path !== null) filter.path = path
  const since = params.get('since')
  if (since !== null) {
    if (!/^\d+$/.test(since)) return `since must be a whole number (a seq), got "${since}"`
    filter.since = Number(since)
  }
  const limit = params.get('limit')
  if (limit !== null) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1) return `limit must be a whole number >= 1, got "${limit}"`
    filter.limit = Number(limit)
  }
  return filter
}

export function handleControl(ctx: ControlContext): void {
  const { req, res, path, engine, recorder } = ctx
  const method = req.method ?? 'GET'
  const allowed = ROUTES[path]
  if (!allowed) return fail(ctx, 404, `unknown sandbox endpoint ${path}; there are ${Object.keys(ROUTES).join(', ')}`)
  if (!allowed.includes(method)) return fail(ctx, 405, `${path} accepts ${allowed.join(', ')}`, { allow: allowed.join(', ') })

  switch (`${method} ${path}`) {
    case 'GET /_sandbox/health': {
      const outage = engine.activeOutage()
      return ctx.send(res, 200, { ok: true, recorded: recorder.size, outage: outage ? outage.mode : null })
    }
    case 'GET /_sandbox/requests': {
      const filter = parseFilter(ctx.query)
      if (typeof filter === 'string') return fail(ctx, 400, filter)
      const requests = recorder.list(filter)
      try {
        return ctx.send(res, 200, requests)
      } catch (err) {
        if (!(err instanceof RangeError)) throw err
        return fail(ctx, 413, `${requests.length} requests are too many for one answer; page with ?since=SEQ&limit=N`)
      }
    }
    case 'DELETE /_sandbox/requests': {
      const cleared = recorder.size
      ctx.clearRequests()
      return ctx.send(res, 200, { success: true, cleared })
    }
    case 'GET /_sandbox/faults':
      return ctx.send(res, 200, engine.snapshot())
    case 'DELETE /_sandbox/faults':
      engine.clear()
      return ctx.send(res, 200, engine.snapshot())
    case 'POST /_sandbox/faults': {
      let input: unknown
      try {
        input = JSON.parse(ctx.text)
      } catch (err) {
        return fail(ctx, 400, ctx.text === '' ? 'empty body: send the faults as JSON' : `invalid JSON: ${(err as Error).message}`)
      }
      ctx.spare(req.socket)
      try {
        engine.set(input)
      } catch (err) {
        if (err instanceof FaultsError) return fail(ctx, 400, err.message)
        throw err
      }
      // A refuse-mode outage has just closed the listener; this connection closes once answered.
      const refusing = engine.activeOutage()?.mode === 'refuse'
      return ctx.send(res, 200, engine.snapshot(), refusing ? { connection: 'close' } : undefined)
    }
  }
}
