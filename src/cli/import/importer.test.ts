import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { basicAuth } from '../../../test/helpers/http'
import { removeTempDirs, tempDir } from '../../../test/helpers/temp'
import { readLines } from './lines'
import { badIndices, deterministicMessageId, ImportError, prepareLine, runImport } from './importer'
import { readCheckpoint } from './checkpoint'
import { progressBar, progressLine } from './progress'

let dir: string
beforeEach(() => {
  dir = tempDir('csb-import-')
})
afterEach(removeTempDirs)

describe('readLines', () => {
  it('yields each line with its number and the byte offset after it, and resumes from an offset', async () => {
    const file = path.join(dir, 'a.jsonl')
    fs.writeFileSync(file, 'one\nzwei-ü\n\nlast')
    const lines = []
    for await (const l of readLines(file, { offset: 0, line: 0 })) lines.push(l)
    expect(lines.map((l) => [l.number, l.text, l.end])).toEqual([[1, 'one', 4], [2, 'zwei-ü', 12], [3, '', 13], [4, 'last', 17]])
    const rest = []
    for await (const l of readLines(file, { offset: 12, line: 2 })) rest.push([l.number, l.text])
    expect(rest).toEqual([[3, ''], [4, 'last']])
  })

  it('reads a gzip file as its uncompressed lines, with uncompressed offsets, and resumes inside it', async () => {
    const file = path.join(dir, 'a.jsonl.gz')
    fs.writeFileSync(file, zlib.gzipSync(Buffer.from('one\nzwei-ü\n\nlast')))
    const lines = []
    for await (const l of readLines(file, { offset: 0, line: 0 })) lines.push(l)
    expect(lines.map((l) => [l.number, l.text, l.end])).toEqual([[1, 'one', 4], [2, 'zwei-ü', 12], [3, '', 13], [4, 'last', 17]])
    expect(lines[3].fileBytes).toBe(fs.statSync(file).size)
    const rest = []
    for await (const l of readLines(file, { offset: 12, line: 2 })) rest.push([l.number, l.text])
    expect(rest).toEqual([[3, ''], [4, 'last']])
  })
})

describe('prepareLine', () => {
  it('gives a line without messageId a deterministic one, and keeps an existing one', () => {
    const line = '{"type":"track","userId":"u","event":"E"}'
    const a = prepareLine(line) as { json: string }
    const b = prepareLine(`  ${line}\r`) as { json: string }
    expect(JSON.parse(a.json).messageId).toBe(deterministicMessageId(line))
    expect(JSON.parse(b.json).messageId).toBe(JSON.parse(a.json).messageId)
    expect(JSON.parse((prepareLine('{"type":"track","messageId":"keep"}') as { json: string }).json).messageId).toBe('keep')
  })

  it('drops sentAt and the write key, and fills a missing timestamp from the export', () => {
    const e = JSON.parse((prepareLine('{"type":"identify","userId":"u","sentAt":"2020-01-02T00:00:00Z","originalTimestamp":"2020-01-01T00:00:00Z","writeKey":"x"}') as { json: string }).json)
    expect(e.sentAt).toBeUndefined()
    expect(e.writeKey).toBeUndefined()
    expect(e.timestamp).toBe('2020-01-01T00:00:00Z')
  })

  it('reports lines that are not events and ignores blank ones', () => {
    expect(prepareLine('   ')).toBeNull()
    expect(prepareLine('{nope')).toEqual({ problem: expect.stringMatching(/^invalid JSON/) })
    expect(prepareLine('[1]')).toEqual({ problem: 'not a JSON object' })
    expect(prepareLine('{"userId":"u"}')).toEqual({ problem: 'event has no "type"' })
  })

  it('gives a user deletion request\'s userId instead of an event, and says why one without a usable userId is skipped', () => {
    expect(prepareLine('{"type":"delete","userId":"u-9","messageId":"d-1"}')).toEqual({ deletion: 'u-9' })
    expect(prepareLine('{"type":"delete","userId":42}')).toEqual({ deletion: '42' })
    expect(prepareLine('{"type":"delete","anonymousId":"a-1"}')).toEqual({
      problem: 'user deletion request (type "delete") without a userId: users are deleted by userId; nothing to delete'
    })
    expect(prepareLine('{"type":"delete","userId":"two\\nlines"}')).toEqual({ problem: expect.stringMatching(/userId holds a line break: not imported; make its regulation with POST \/api\/regulations$/) })
  })
})

describe('badIndices', () => {
  it('reads the batch indices and problems from the relay\'s 400 message', () => {
    const m = badIndices('batch[0]: track event has no "event" name; batch[7]: "userId" must be a string; and 3 more problems')
    expect([...m]).toEqual([[0, 'track event has no "event" name'], [7, '"userId" must be a string']])
    expect(badIndices('body must be a JSON object').size).toBe(0)
  })
})

describe('progress', () => {
  it('shows percent, events, rate and ETA', () => {
    const p = { bytesDone: 500, bytesTotal: 1000, sent: 50, bad: 2, line: 52, startedAt: 0, resumedFrom: 0 }
    expect(progressBar(p, 10, 10_000)).toBe('[#####-----]  50.0%  50 events  5/s  ETA 0:10  2 bad')
    expect(progressLine(p, 10_000)).toBe('import: 50.0% (line 52), 50 events sent, 5 events/s, ETA 0:10, 2 bad lines')
  })
})

/** A stand-in for the relay's /v1/import: all-or-nothing batches, naming bad events as the relay does. */
async function fakeRelay(options: { failFirst?: number; delayMs?: number } = {}) {
  const seen = new Map<string, number>()
  const requests: number[] = []
  let failures = options.failFirst ?? 0
  const app: FastifyInstance = Fastify()
  app.post('/v1/import', async (request, reply) => {
    if (request.headers.authorization !== basicAuth('wk')) return reply.code(401).send({ success: false, error: 'write key not recognised' })
    if (failures > 0) {
      failures--
      return reply.code(503).header('retry-after', '0').send({ success: false, error: 'events could not be stored; retry later' })
    }
    const batch = (request.body as { batch: Array<Record<string, unknown>> }).batch
    const problems = batch.flatMap((e, i) => (e.userId ? [] : [`batch[${i}]: ${e.type} event has neither "userId" nor "anonymousId"`]))
    if (problems.length) return reply.code(400).send({ success: false, error: problems.join('; ') })
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs))
    requests.push(batch.length)
    for (const e of batch) seen.set(e.messageId as string, (seen.get(e.messageId as string) ?? 0) + 1)
    return { success: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address() as { port: number }
  return { app, url: `http://127.0.0.1:${address.port}`, seen, requests }
}

function writeEvents(file: string, n: number, bad: number[] = []): void {
  const lines: string[] = []
  for (let i = 1; i <= n; i++) {
    if (bad.includes(i)) lines.push(i % 2 ? '{not json' : JSON.stringify({ type: 'track', event: 'E' }))
    else lines.push(JSON.stringify({ type: 'track', userId: `u${i}`, event: 'E', timestamp: '2024-01-01T00:00:00Z' }))
  }
  fs.writeFileSync(file, lines.join('\n') + '\n')
}

describe('runImport', () => {
  it('sends every good line once in batches, reports bad lines by number, and does nothing on a re-run', async () => {
    const relay = await fakeRelay({ failFirst: 1 })
    const file = path.join(dir, 'events.jsonl')
    writeEvents(file, 250, [3, 10, 11])
    const bad: Array<[number, string]> = []
    const waits: string[] = []
    const checkpointPath = path.join(dir, 'cp.json')
    const summary = await runImport(
      { file, url: relay.url, writeKey: 'wk', checkpointPath, batchSize: 100 },
      { badLine: (b) => bad.push([b.line, b.problem]), waiting: (m) => waits.push(m) }
    )
    expect(summary).toMatchObject({ sent: 247, bad: 3, lines: 250, alreadyDone: false, resumed: false })
    expect(bad.map((b) => b[0]).sort((a, b) => a - b)).toEqual([3, 10, 11])
    expect(bad.find((b) => b[0] === 10)![1]).toMatch(/neither "userId"/)
    expect(waits).toHaveLength(1)
    expect(relay.seen.size).toBe(247)
    expect([...relay.seen.values()].every((n) => n === 1)).toBe(true)
    expect(readCheckpoint(checkpointPath)).toMatchObject({ done: true, offset: fs.statSync(file).size, line: 250, sent: 247, bad: 3 })

    const again = await runImport({ file, url: relay.url, writeKey: 'wk', checkpointPath, batchSize: 100 })
    expect(again.alreadyDone).toBe(true)
    expect(relay.seen.size).toBe(247)
    expect(relay.requests.reduce((a, b) => a + b, 0)).toBe(247)
    await relay.app.close()
  })

  it('imports a gzip export (as Segment archives are) once, with progress in bytes of the file on disk', async () => {
    const relay = await fakeRelay()
    const plain = path.join(dir, 'events.jsonl')
    writeEvents(plain, 300, [5])
    const file = path.join(dir, 'events.jsonl.gz')
    fs.writeFileSync(file, zlib.gzipSync(fs.readFileSync(plain)))
    const checkpointPath = path.join(dir, 'cp-gz.json')
    const done: Array<[number, number]> = []
    const summary = await runImport({ file, url: relay.url, writeKey: 'wk', checkpointPath, batchSize: 100 }, { progress: (p) => done.push([p.bytesDone, p.bytesTotal]) })
    expect(summary).toMatchObject({ sent: 299, bad: 1, lines: 300, alreadyDone: false })
    expect(relay.seen.size).toBe(299)
    expect(done.at(-1)).toEqual([fs.statSync(file).size, fs.statSync(file).size])
    expect(readCheckpoint(checkpointPath)).toMatchObject({ done: true, offset: fs.statSync(plain).size, line: 300 })
    const again = await runImport({ file, url: relay.url, writeKey: 'wk', checkpointPath, batchSize: 100 })
    expect(again.alreadyDone).toBe(true)
    expect(relay.requests.reduce((a, b) => a + b, 0)).toBe(299)
    await relay.app.close()
  })

  it('stops when interrupted, keeps the acknowledged offset, and resumes from it', async () => {
    const relay = await fakeRelay({ delayMs: 20 })
    const file = path.join(dir, 'events.jsonl')
    writeEvents(file, 1000)
    const checkpointPath = path.join(dir, 'cp.json')
    const controller = new AbortController()
    const first = runImport(
      { file, url: relay.url, writeKey: 'wk', checkpointPath, batchSize: 100, signal: controller.signal },
      { progress: (p) => { if (p.sent >= 300) controller.abort() } }
    )
    await expect(first).rejects.toThrow(ImportError)
    const cp = readCheckpoint(checkpointPath)!
    expect(cp.done).toBe(false)
    expect(cp.line).toBe(300)
    const resumed = await runImport({ file, url: relay.url, writeKey: 'wk', checkpointPath, batchSize: 100 })
    expect(resumed).toMatchObject({ resumed: true, sent: 700 })
    expect(relay.seen.size).toBe(1000)
    await relay.app.close()
  })

  it('sends no user deletion request: counts them apart and keeps their userIds, once each, beside the checkpoint; a resume adds to them, --restart starts them over', async () => {
    const relay = await fakeRelay({ delayMs: 20 })
    const file = path.join(dir, 'archive.jsonl')
    const lines: string[] = []
    for (let i = 1; i <= 300; i++) {
      if (i % 50 === 0) lines.push(JSON.stringify({ type: 'delete', userId: `gone-${i % 100}`, messageId: `d-${i}` }))
      else lines.push(JSON.stringify({ type: 'identify', userId: `u${i}`, traits: {} }))
    }
    lines.push(JSON.stringify({ type: 'delete', anonymousId: 'a-1' }))
    fs.writeFileSync(file, lines.join('\n') + '\n')
    const checkpointPath = path.join(dir, 'archive.csb-import-checkpoint.json')
    const deletionsPath = path.join(dir, 'archive.csb-import-checkpoint.deletions.txt')
    const controller = new AbortController()
    const bad: Array<[number, string]> = []
    const first = runImport(
      { file, url: relay.url, writeKey: 'wk', checkpointPath, batchSize: 100, signal: controller.signal },
      { progress: (p) => { if (p.sent >= 100) controller.abort() }, badLine: (b) => bad.push([b.line, b.problem]) }
    )
    await expect(first).rejects.toThrow(ImportError)
    // Lines 50 and 100 were read before the checkpoint reached line 101: their userIds are kept.
    expect(fs.readFileSync(deletionsPath, 'utf8')).toBe('gone-50\ngone-0\n')
    const resumed = await runImport({ file, url: relay.url, writeKey: 'wk', checkpointPath, batchSize: 100 }, { badLine: (b) => bad.push([b.line, b.problem]) })
    expect(resumed).toMatchObject({ resumed: true, sent: 194, deletions: 4, deletionUsers: 2, deletionsPath, bad: 1 })
    expect([...relay.seen.keys()].some((id) => id.startsWith('d-'))).toBe(false)
    expect(relay.seen.size).toBe(294)
    expect(bad).toEqual([[301, expect.stringMatching(/without a userId/)]])
    expect(fs.readFileSync(deletionsPath, 'utf8').split('\n').filter(Boolean)).toEqual(['gone-50', 'gone-0', 'gone-50', 'gone-0', 'gone-50', 'gone-0'])

    const again = await runImport({ file, url: relay.url, writeKey: 'wk', checkpointPath })
    expect(again).toMatchObject({ alreadyDone: true, deletions: 0, deletionUsers: 2 })
    const restarted = await runImport({ file, url: relay.url, writeKey: 'wk', checkpointPath, restart: true })
    expect(restarted).toMatchObject({ deletions: 6, deletionUsers: 2 })
    expect(fs.readFileSync(deletionsPath, 'utf8').split('\n').filter(Boolean)).toHaveLength(6)
    await relay.app.close()
  })

  it('refuses a checkpoint of a different file, and stops on a refused write key', async () => {
    const relay = await fakeRelay()
    const file = path.join(dir, 'events.jsonl')
    writeEvents(file, 10)
    const checkpointPath = path.join(dir, 'cp.json')
    await runImport({ file, url: relay.url, writeKey: 'wk', checkpointPath })
    writeEvents(file, 12, [1])
    await expect(runImport({ file, url: relay.url, writeKey: 'wk', checkpointPath })).rejects.toThrow(/--restart/)
    await expect(runImport({ file, url: relay.url, writeKey: 'nope', checkpointPath, restart: true })).rejects.toThrow(/write key/)
    await relay.app.close()
  })
})
