/**
 * Reads a JSON-lines file from a byte offset, yielding each line with the byte offset just
 * after it, so an importer can checkpoint exactly what has been acknowledged.
 * A gzip file (Segment's archives are) is read through gunzip: its offsets count uncompressed
 * bytes, so resuming one decompresses from the start and skips to the offset, since gzip
 * streams cannot be entered in the middle.
 */
import fs from 'node:fs'
import zlib from 'node:zlib'

export interface Line {
  /** 1-based line number in the file. */
  number: number
  text: string
  /** Byte offset just past this line's newline (where a resumed import starts); uncompressed bytes for gzip. */
  end: number
  /** Bytes of the file read so far (compressed bytes for gzip), for progress against the file's size. */
  fileBytes: number
}

/** Whether the file starts with gzip's magic bytes. */
export function isGzipFile(file: string): boolean {
  const fd = fs.openSync(file, 'r')
  try {
    const magic = Buffer.alloc(2)
    return fs.readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b
  } finally {
    fs.closeSync(fd)
  }
}

const NEWLINE = 0x0a
const CHUNK = 1 << 20

export async function* readLines(file: string, start: { offset: number; line: number }): AsyncGenerator<Line> {
  const gzip = isGzipFile(file)
  const fileStream = fs.createReadStream(file, { start: gzip ? 0 : start.offset, highWaterMark: CHUNK })
  const stream = gzip ? fileStream.pipe(zlib.createGunzip({ chunkSize: CHUNK })) : fileStream
  const fileBytes = () => (gzip ? fileStream.bytesRead : start.offset + fileStream.bytesRead)
  let carry: Buffer | null = null
  // Uncompressed bytes to pass over before the resumed offset (gzip only).
  let skip = gzip ? start.offset : 0
  let offset = start.offset
  let number = start.line
  for await (const raw of stream as AsyncIterable<Buffer>) {
    let chunk = raw
    if (skip > 0) {
      const dropped = Math.min(skip, chunk.length)
      skip -= dropped
      chunk = chunk.subarray(dropped)
      if (chunk.length === 0) continue
    }
    const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk
    let from = 0
    for (let nl = buf.indexOf(NEWLINE, from); nl !== -1; nl = buf.indexOf(NEWLINE, from)) {
      const end = offset + (nl + 1 - from)
      number++
      yield { number, text: buf.toString('utf8', from, nl), end, fileBytes: fileBytes() }
      offset = end
      from = nl + 1
    }
    carry = from < buf.length ? buf.subarray(from) : null
  }
  // The last line may lack its newline.
  if (carry && carry.length > 0) {
    number++
    yield { number, text: carry.toString('utf8'), end: offset + carry.length, fileBytes: fileBytes() }
  }
}
