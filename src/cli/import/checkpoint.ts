/**
 * The import checkpoint: how far into the file the relay has acknowledged, written atomically
 * after each acknowledged batch. A re-run starts from it; a different file is refused.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

export interface Checkpoint {
  version: 1
  file: string
  /** SHA-256 of the file's first bytes: recognises the same file after a move or an append. */
  head: string
  /** Byte offset up to which every line was acknowledged by the relay (or reported bad). */
  offset: number
  /** Lines consumed up to `offset`. */
  line: number
  sent: number
  bad: number
  done: boolean
  updatedAt: string
}

const HEAD_BYTES = 64 * 1024

export function fileHead(file: string): string {
  const fd = fs.openSync(file, 'r')
  try {
    const buf = Buffer.alloc(HEAD_BYTES)
    const n = fs.readSync(fd, buf, 0, HEAD_BYTES, 0)
    return createHash('sha256').update(buf.subarray(0, n)).digest('hex')
  } finally {
    fs.closeSync(fd)
  }
}

/** Beside the input when its folder is writable, else in ./data/import-checkpoints/. */
export function defaultCheckpointPath(file: string, cwd = process.cwd()): string {
  const abs = path.resolve(cwd, file)
  const beside = `${abs}.csb-import-checkpoint.json`
  try {
    fs.accessSync(path.dirname(abs), fs.constants.W_OK)
    return beside
  } catch {
    const id = createHash('sha256').update(abs).digest('hex').slice(0, 16)
    return path.resolve(cwd, 'data', 'import-checkpoints', `${path.basename(abs)}.${id}.json`)
  }
}

export function readCheckpoint(file: string): Checkpoint | null {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return null
  }
  try {
    const c = JSON.parse(text) as Checkpoint
    if (c.version !== 1 || typeof c.offset !== 'number' || typeof c.line !== 'number' || typeof c.head !== 'string') return null
    return c
  } catch {
    return null
  }
}

export function writeCheckpoint(file: string, checkpoint: Checkpoint): void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(checkpoint, null, 2))
  fs.renameSync(tmp, file)
}
