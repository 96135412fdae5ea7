/**
 * Reads a JSON-lines file from a byte offset, yielding each line with the byte offset just
 * after it, so an importer can checkpoint exactly what has been acknowledged.
 */
import fs from 'node:fs'

export interface Line {
  /** 1-based line number in the file. */
  number: number
  text: string
  /** Byte offset just past this line's newline (where a resumed import starts). */
  end: number
}

const NEWLINE = 0x0a
const CHUNK = 1 << 20

export async function* readLines(file: string, start: { offset: number; line: number }): AsyncGenerator<Line> {
  const stream = fs.createReadStream(file, { start: start.offset, highWaterMark: CHUNK })
  let carry: Buffer | null = null
  let offset = start.offset
  let number = start.line
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk
    let from = 0
    for (let nl = buf.indexOf(NEWLINE, from); nl !== -1; nl = buf.indexOf(NEWLINE, from)) {
      const end = offset + (nl + 1 - from)
      number++
      yield { number, text: buf.toString('utf8', from, nl), end }
      offset = end
      from = nl + 1
    }
    carry = from < buf.length ? buf.subarray(from) : null
  }
  // The last line may lack its newline.
  if (carry && carry.length > 0) {
    number++
    yield { number, text: carry.toString('utf8'), end: offset + carry.length }
  }
}
