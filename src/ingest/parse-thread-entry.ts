/** A parse thread (see parse-thread.ts): the request thread's parse and checks, and the request ready for the store. */
import { workerData } from 'node:worker_threads'
import { movableBuffers, moving, parentEndpoint, serialiseEvents } from '../store'
import { checkRequest, eventsOfRequest } from './events'
import { bodyText, parseJson } from './json'
import { opaqueRequest } from './opaque'
import { PARSE_ERROR_FIELDS, type ParseSetup, type ParseThreadSide, type RequestThreadSide } from './parse-thread'
import { noRepairs } from './repairs'

const { limits, output } = workerData as ParseSetup

parentEndpoint<ParseThreadSide, RequestThreadSide>({
  // Answers to the requests of one message go back as one message.
  coalesce: true,
  // A refusal (IngestError) crosses with its status; the request thread makes it an IngestError again.
  errorFields: PARSE_ERROR_FIELDS,
  handlers: {
    parse(request) {
      const body = parseJson(bodyText(request.raw))
      const receivedAt = new Date(request.receivedAtMs)
      const repairs = noRepairs()
      const deletions: string[] = []
      if (output !== 'opaque') {
        const batch = serialiseEvents(eventsOfRequest(request.route, body, request.raw.byteLength, request.source, limits, receivedAt, true, repairs, deletions))
        return { batch, repairs, deletions }
      }
      const n = checkRequest(request.route, body, request.raw.byteLength, limits, repairs, deletions)
      const batch = opaqueRequest(request.route, request.source, receivedAt, request.raw, n)
      // The body goes back without a copy: its buffer moves to the request thread.
      return moving({ batch, repairs, deletions }, movableBuffers([batch.body]))
    }
  }
})
