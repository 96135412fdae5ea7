import { IngestError } from './errors'

/** A UTF-8 byte order mark some HTTP clients put before JSON text. */
const BOM = 0xfeff

/** The body as text, without a leading byte order mark. */
export function bodyText(raw: Uint8Array): string {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8')
  return text.charCodeAt(0) === BOM ? text.slice(1) : text
}

/** The request body as JSON, or a 400 naming the problem. */
export function parseJson(raw: Uint8Array | string): unknown {
  const text = typeof raw === 'string' ? raw : bodyText(raw)
  if (text.trim() === '') throw new IngestError(400, 'empty body: send a JSON event')
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new IngestError(400, `invalid JSON: ${(err as Error).message.slice(0, 200)}`)
  }
}
