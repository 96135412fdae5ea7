/**
 * `csb-relay import`: sends a JSON-lines export of Segment events to a relay's `/v1/import`,
 * in batches, in file order (one request at a time, so per-user order is kept), and
 * checkpoints the byte offset the relay has acknowledged after each batch.
 *
 * Duplicates: each event keeps its messageId; a line without one gets a deterministic id from
 * a hash of the line, so a re-run (or a batch re-sent after an interruption) is dropped by the
 * relay's dedupe. Bad lines are reported with their number and skipped; they never stop it.
 * User deletion requests (`type: "delete"`) are not imported but kept apart (deletions.ts).
 */
import fs from 'node:fs'
import { isGzipFile, readLines } from './lines'
import { fileHead, readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint'
import { deletionsPathOf, DeletionRequests } from './deletions'
import { prepareLine } from './prepare'

export { deterministicMessageId, prepareLine } from './prepare'

export interface ImportOptions {
  file: string
  /** Relay base URL, e.g. http://127.0.0.1:8080. */
  url: string
  writeKey: string
  checkpointPath: string
  /** Ignore an existing checkpoint and start from the first line. */
  restart?: boolean
  /** Most events per request (the relay accepts up to 2,500 and 500 KB). */
  batchSize?: number
  /** Most bytes of JSON per request. */
  batchBytes?: number
  /** Give up after this many consecutive failed attempts of one batch (network, 5xx). */
  maxAttempts?: number
  /** Stop (as if interrupted) when this signal aborts; the checkpoint stays. */
  signal?: AbortSignal
}

export interface ImportProgress {
  bytesDone: number
  bytesTotal: number
  /** Events acknowledged by the relay in this run. */
  sent: number
  /** Bad lines in this run. */
  bad: number
  /** Line number reached. */
  line: number
  startedAt: number
  /** Bytes already done when this run started (resume). */
  resumedFrom: number
}

export interface BadLine {
  line: number
  problem: string
}

export interface ImportHooks {
  progress?(p: ImportProgress): void
  badLine?(b: BadLine): void
  /** A batch is being retried (backpressure, relay unavailable). */
  waiting?(message: string): void
}

export interface ImportSummary {
  file: string
  alreadyDone: boolean
  resumed: boolean
  sent: number
  bad: number
  /** User deletion requests (`type: "delete"`) met in this run: not imported (deletions.ts). */
  deletions: number
  /** Distinct userIds in `deletionsPath`, from every run of this import. */
  deletionUsers: number
  deletionsPath: string
  lines: number
  seconds: number
  checkpointPath: string
}

export class ImportError extends Error {
  override name = 'ImportError'
}

interface Pending {
  line: number
  json: string
}

const DEFAULTS = { batchSize: 500, batchBytes: 450 * 1024, maxAttempts: 12 }
const BACKOFF_CAP_MS = 30_000

export async function runImport(options: ImportOptions, hooks: ImportHooks = {}): Promise<ImportSummary> {
  const opts = { ...DEFAULTS, ...options }
  let stat: fs.Stats
  try {
    stat = fs.statSync(opts.file)
  } catch (err) {
    throw new ImportError(`cannot read ${opts.file}: ${(err as Error).message}`)
  }
  if (!stat.isFile()) throw new ImportError(`${opts.file} is not a file`)
  const deletions = new DeletionRequests(deletionsPathOf(opts.checkpointPath), opts.restart === true)
  const deletionsOf = () => ({ deletions: deletions.count, deletionUsers: deletions.users(), deletionsPath: deletions.file })
  const head = fileHead(opts.file)
  // A gzip file's checkpoint offset counts uncompressed bytes, so it is not compared with the file's size.
  const gzip = isGzipFile(opts.file)

  let checkpoint: Checkpoint = {
    version: 1, file: opts.file, head, offset: 0, line: 0, sent: 0, bad: 0, done: false, updatedAt: new Date().toISOString()
  }
  const previous = opts.restart ? null : readCheckpoint(opts.checkpointPath)
  if (previous) {
    if (previous.head !== head || (!gzip && previous.offset > stat.size)) {
      throw new ImportError(
        `${opts.file} is not the file checkpointed in ${opts.checkpointPath} (its content changed); run with --restart to import it from the start`
      )
    }
    checkpoint = { ...previous, file: opts.file }
    if (previous.done && (gzip || previous.offset === stat.size)) {
      return { file: opts.file, alreadyDone: true, resumed: false, sent: 0, bad: 0, ...deletionsOf(), lines: previous.line, seconds: 0, checkpointPath: opts.checkpointPath }
    }
  }

  const resumed = checkpoint.offset > 0
  const startedAt = Date.now()
  const run = { sent: 0, bad: 0 }
  const endpoint = `${opts.url.replace(/\/+$/, '')}/v1/import`
  const authorization = `Basic ${Buffer.from(`${opts.writeKey}:`).toString('base64')}`
  // Progress is told in bytes of the file as it lies on disk (compressed for gzip).
  let fileBytes = gzip ? 0 : checkpoint.offset
  const progress = (line: number, offset: number) =>
    hooks.progress?.({
      bytesDone: gzip ? fileBytes : offset, bytesTotal: stat.size, sent: run.sent, bad: run.bad, line, startedAt,
      resumedFrom: resumed && !gzip ? (previous?.offset ?? 0) : 0
    })
  const bad = (line: number, problem: string) => {
    run.bad++
    hooks.badLine?.({ line, problem })
  }

  let batch: Pending[] = []
  let batchBytes = 0

  const flush = async (end: number, line: number) => {
    if (batch.length > 0) {
      const accepted = await sendBatch(batch)
      run.sent += accepted
    }
    batch = []
    batchBytes = 0
    deletions.save()
    checkpoint = {
      ...checkpoint,
      offset: end,
      line,
      sent: (previous?.sent ?? 0) + run.sent,
      bad: (previous?.bad ?? 0) + run.bad,
      updatedAt: new Date().toISOString()
    }
    writeCheckpoint(opts.checkpointPath, checkpoint)
    progress(line, end)
  }

  /** Sends until the relay accepts what is valid; invalid events are reported and dropped. Returns how many were accepted. */
  const sendBatch = async (events: Pending[]): Promise<number> => {
    let remaining = events
    while (remaining.length > 0) {
      const answer = await post(remaining.map((e) => e.json))
      if (answer.ok) return remaining.length
      const named = badIndices(answer.error)
      if (named.size > 0) {
        for (const [index, problem] of named) if (remaining[index]) bad(remaining[index].line, problem)
        remaining = remaining.filter((_, i) => !named.has(i))
        continue
      }
      if (remaining.length === 1) {
        bad(remaining[0].line, answer.error)
        return 0
      }
      // The relay refused the batch without naming events: find the bad ones one by one.
      let accepted = 0
      for (const event of remaining) accepted += await sendBatch([event])
      return accepted
    }
    return 0
  }

  const post = async (jsons: string[]): Promise<{ ok: true } | { ok: false; error: string }> => {
    const body = `{"batch":[${jsons.join(',')}]}`
    for (let attempt = 1; ; attempt++) {
      if (opts.signal?.aborted) throw new ImportError('interrupted')
      let status = 0
      let text = ''
      let retryAfterMs: number | null = null
      try {
        const res = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization },
          body,
          signal: opts.signal
        })
        status = res.status
        text = await res.text()
        const retryAfter = Number(res.headers.get('retry-after'))
        if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = retryAfter * 1000
      } catch (err) {
        if (opts.signal?.aborted) throw new ImportError('interrupted')
        text = `cannot reach the relay at ${opts.url}: ${(err as Error).message}`
      }
      if (status >= 200 && status < 300) return { ok: true }
      const error = errorOf(text) ?? `HTTP ${status}`
      if (status === 401) throw new ImportError(`the relay refused the write key (401: ${error}); pass --write-key or set CSB_RELAY_WRITE_KEYS`)
      if (status === 400 || status === 413) return { ok: false, error }
      // 429 (backpressure), 5xx, network errors: wait and try again.
      if (attempt >= opts.maxAttempts) throw new ImportError(`giving up after ${attempt} attempts: ${error}. Run the same command again to resume.`)
      const wait = retryAfterMs ?? Math.min(BACKOFF_CAP_MS, 250 * 2 ** attempt)
      hooks.waiting?.(`${status === 429 ? 'relay is busy (429)' : error}; retrying in ${(wait / 1000).toFixed(1)} s`)
      await sleep(wait, opts.signal)
    }
  }

  let lastLine = checkpoint.line
  let lastEnd = checkpoint.offset
  for await (const line of readLines(opts.file, { offset: checkpoint.offset, line: checkpoint.line })) {
    const prepared = prepareLine(line.text)
    if (prepared && 'problem' in prepared) bad(line.number, prepared.problem)
    else if (prepared && 'deletion' in prepared) deletions.add(prepared.deletion)
    else if (prepared) {
      const bytes = Buffer.byteLength(prepared.json)
      if (batch.length > 0 && (batch.length >= opts.batchSize || batchBytes + bytes + 1 > opts.batchBytes)) await flush(lastEnd, lastLine)
      batch.push({ line: line.number, json: prepared.json })
      batchBytes += bytes + 1
    }
    lastLine = line.number
    lastEnd = line.end
    fileBytes = line.fileBytes
  }
  checkpoint.done = true
  await flush(lastEnd, lastLine)

  return {
    file: opts.file,
    alreadyDone: false,
    resumed,
    sent: run.sent,
    bad: run.bad,
    ...deletionsOf(),
    lines: lastLine,
    seconds: (Date.now() - startedAt) / 1000,
    checkpointPath: opts.checkpointPath
  }
}

function errorOf(text: string): string | null {
  try {
    const body = JSON.parse(text) as { error?: unknown }
    return typeof body.error === 'string' ? body.error : text.slice(0, 300) || null
  } catch {
    return text.slice(0, 300) || null
  }
}

/** The relay names bad events of a batch as `batch[i]: problem; batch[j]: problem`. */
export function badIndices(error: string): Map<number, string> {
  const found = new Map<number, string>()
  for (const part of error.split(/;\s+(?=batch\[\d+\]|and \d+ more)/)) {
    const m = /^batch\[(\d+)\]:\s*(.*)$/s.exec(part.trim())
    if (m) found.set(Number(m[1]), m[2])
  }
  return found
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}
