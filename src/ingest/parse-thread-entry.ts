/** A parse thread (see parse-thread.ts): the request thread's parse and checks, and the request ready for the store. */
import { parentPort, workerData } from 'node:worker_threads'
import { IngestError } from './errors'
import { movableBuffers, serialiseEvents } from '../store/serialised'
import { checkRequest, eventsOfRequest } from './events'
import { bodyText, parseJson } from './json'
import { opaqueRequest } from './opaque'
import { noRepairs } from './repairs'
import type { ParseAnswer, ParseMessage, ParseReply, ParseRequest, ParseSetup } from './parse-thread'

const port = parentPort
if (!port) throw new Error('parse-thread-entry must run in a worker thread')
const { limits, output } = workerData as ParseSetup

function answer(request: ParseRequest): ParseReply {
  try {
    const text = bodyText(request.raw)
    const body = parseJson(text)
    const receivedAt = new Date(request.receivedAtMs)
    const repairs = noRepairs()
    const batch =
      output === 'opaque'
        ? opaqueRequest(request.route, request.source, receivedAt, request.raw, checkRequest(request.route, body, request.raw.byteLength, limits, repairs))
        : serialiseEvents(eventsOfRequest(request.route, body, request.raw.byteLength, request.source, limits, receivedAt, true, repairs))
    return { id: request.id, ok: true, batch, repairs }
  } catch (error) {
    return error instanceof IngestError
      ? { id: request.id, ok: false, status: error.statusCode, message: error.message }
      : { id: request.id, ok: false, status: 500, message: error instanceof Error ? error.message : String(error) }
  }
}

port.on('message', (message: ParseMessage) => {
  const replies: ParseAnswer = message.map(answer)
  // Opaque batches' bodies go back without a copy: their buffers move to the request thread.
  const bodies = replies.flatMap((reply) => (reply.ok && 'body' in reply.batch ? [reply.batch.body] : []))
  port.postMessage(replies, movableBuffers(bodies))
})
