/** A parse thread (see parse-thread.ts): the request thread's parse and checks, and the request ready for the store. */
import { parentPort, workerData } from 'node:worker_threads'
import { IngestError } from './errors'
import { ownsBuffer, serialiseEvents } from '../store/serialised'
import { checkRequest, eventsOfRequest } from './events'
import { bodyText, parseJson } from './json'
import { opaqueRequest } from './opaque'
import type { ParseReply, ParseRequest, ParseSetup } from './parse-thread'

const port = parentPort
if (!port) throw new Error('parse-thread-entry must run in a worker thread')
const { limits, output } = workerData as ParseSetup

port.on('message', (request: ParseRequest) => {
  let reply: ParseReply
  try {
    const text = bodyText(request.raw)
    const body = parseJson(text)
    const receivedAt = new Date(request.receivedAtMs)
    const batch =
      output === 'opaque'
        ? opaqueRequest(request.route, request.source, receivedAt, request.raw, checkRequest(request.route, body, request.raw.byteLength, limits))
        : serialiseEvents(eventsOfRequest(request.route, body, request.raw.byteLength, request.source, limits, receivedAt))
    reply = { id: request.id, ok: true, batch }
  } catch (error) {
    reply =
      error instanceof IngestError
        ? { id: request.id, ok: false, status: error.statusCode, message: error.message }
        : { id: request.id, ok: false, status: 500, message: error instanceof Error ? error.message : String(error) }
  }
  // An opaque batch's body goes back without a copy: its buffer moves to the request thread.
  port.postMessage(reply, reply.ok && 'body' in reply.batch && ownsBuffer(reply.batch.body) ? [reply.batch.body.buffer as ArrayBuffer] : [])
})
