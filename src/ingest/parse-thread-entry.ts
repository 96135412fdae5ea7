/** A parse thread (see parse-thread.ts): the request thread's parse and checks; the body goes on as an opaque batch. */
import { parentPort, workerData } from 'node:worker_threads'
import { IngestError } from './errors'
import { checkRequest, type EventLimits } from './events'
import { bodyText, parseJson } from './json'
import { opaqueRequest } from './opaque'
import type { ParseReply, ParseRequest } from './parse-thread'

const port = parentPort
if (!port) throw new Error('parse-thread-entry must run in a worker thread')
const limits = workerData as EventLimits

port.on('message', (request: ParseRequest) => {
  let reply: ParseReply
  try {
    const text = bodyText(request.raw)
    const n = checkRequest(request.route, parseJson(text), request.raw.byteLength, limits)
    reply = { id: request.id, ok: true, batch: opaqueRequest(request.route, request.source, new Date(request.receivedAtMs), text, n) }
  } catch (error) {
    reply =
      error instanceof IngestError
        ? { id: request.id, ok: false, status: error.statusCode, message: error.message }
        : { id: request.id, ok: false, status: 500, message: error instanceof Error ? error.message : String(error) }
  }
  port.postMessage(reply)
})
