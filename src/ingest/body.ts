/**
 * Reads a request body as bytes, within the request limit, gunzipping when asked. The limit
 * holds before and after decompression, so a small gzip bomb is refused like a large body.
 */
import zlib from 'node:zlib'
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { IngestError, badRequest, tooLarge } from './errors'

/**
 * Media types that cannot be JSON text. Any other Content-Type is read as JSON: senders label
 * JSON loosely (the browser library says text/plain to skip CORS preflights; RudderStack's
 * node SDK says application/x-www-form-urlencoded for its gzip JSON), and the JSON parser,
 * not the label, decides whether the body is acceptable.
 */
const REFUSED_TYPES = /^\s*(multipart|image|audio|video|font|model)\//i

/** The problem with the Content-Type, or undefined. A missing Content-Type is read as JSON. */
export function contentTypeProblem(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !REFUSED_TYPES.test(contentType)) return undefined
  return `Content-Type "${contentType.slice(0, 100)}" is not accepted: send JSON (application/json or text/plain)`
}

function gunzip(compressed: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.gunzip(compressed, { maxOutputLength: maxBytes }, (err, result) => {
      if (!err) return resolve(result)
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return reject(tooLarge(`request body is over ${maxBytes} bytes after gunzip`))
      }
      reject(badRequest(`body is not valid gzip (Content-Encoding: gzip): ${err.message}`))
    })
  })
}

export function readBody(headers: IncomingHttpHeaders, payload: Readable, maxBytes: number): Promise<Buffer> {
  const typeProblem = contentTypeProblem(headers['content-type'])
  if (typeProblem) return Promise.reject(new IngestError(415, typeProblem))
  const encoding = (headers['content-encoding'] ?? '').trim().toLowerCase()
  const gzipped = encoding === 'gzip' || encoding === 'x-gzip'
  if (!gzipped && encoding !== '' && encoding !== 'identity') {
    return Promise.reject(new IngestError(415, `Content-Encoding "${encoding.slice(0, 40)}" is not supported: send gzip or no encoding`))
  }
  const declared = Number(headers['content-length'])
  if (declared > maxBytes) return Promise.reject(tooLarge(`request body is ${declared} bytes; the limit is ${maxBytes}`))

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let received = 0
    const stop = () => {
      payload.removeListener('data', onData)
      payload.removeListener('end', onEnd)
      payload.removeListener('error', onError)
    }
    const onData = (chunk: Buffer) => {
      received += chunk.length
      if (received > maxBytes) {
        stop()
        // Leave the rest unread; Node discards it once the answer is sent.
        payload.resume()
        reject(tooLarge(`request body is over ${maxBytes} bytes`))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      stop()
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)
      if (gzipped) gunzip(body, maxBytes).then(resolve, reject)
      else resolve(body)
    }
    const onError = (err: Error) => {
      stop()
      reject(badRequest(`request body could not be read: ${err.message}`))
    }
    payload.on('data', onData)
    payload.on('end', onEnd)
    payload.on('error', onError)
  })
}
