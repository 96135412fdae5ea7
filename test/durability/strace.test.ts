/**
 * The trace checker (strace.ts) on traces written by hand, in strace's `-f -y -xx` form: it
 * passes a commit synced before its 200 and names each way an acknowledgement can come too early.
 */
import { describe, expect, it } from 'vitest'
import { parseTrace, unsyncedAcknowledgements, walCommits } from './strace'

const WAL = '/data/relay.db-wal'
const hex = (bytes: Buffer | string) => [...Buffer.from(bytes)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')
const fd = (n: number, path: string) => `${n}<${hex(path)}>`

function frameHeader(page: number, commitSize: number): Buffer {
  const header = Buffer.alloc(24)
  header.writeUInt32BE(page, 0)
  header.writeUInt32BE(commitSize, 4)
  return header
}

/** One transaction of two frames (the second commits), the event's marker in the first page. */
function commit(pid: number, marker: string, offset = 32): string[] {
  const page = Buffer.alloc(64, 0x20)
  page.write(`{"event":"${marker}"}`, 8)
  return [
    `${pid} pwrite64(${fd(23, WAL)}, "${hex(frameHeader(2, 0))}", 24, ${offset}) = 24`,
    `${pid} pwrite64(${fd(23, WAL)}, "${hex(page)}", 4096, ${offset + 24}) = 4096`,
    `${pid} pwrite64(${fd(23, WAL)}, "${hex(frameHeader(3, 20))}", 24, ${offset + 4120}) = 24`,
    `${pid} pwrite64(${fd(23, WAL)}, "${hex(Buffer.alloc(16, 1))}", 4096, ${offset + 4144}) = 4096`
  ]
}

const sync = (pid: number, path = WAL, result = '0') => `${pid} fdatasync(${fd(32, path)}) = ${result}`
const response = (status = 200) =>
  `100 writev(${fd(31, 'socket:[389072]')}, [{iov_base="${hex(`HTTP/1.1 ${status} OK\r\ncontent-length: 16\r\n\r\n`)}", iov_len=40}, {iov_base="${hex('{"success":true}')}", iov_len=16}], 2) = 56`

const check = (lines: string[], markers = ['mk-1']) => unsyncedAcknowledgements(parseTrace(lines.join('\n')), WAL, markers)

describe('the fsync-before-200 check', () => {
  it('passes a 200 written after the commit and a sync that started after its last write', () => {
    expect(check([...commit(200, 'mk-1'), sync(300), response()])).toEqual([])
    const two = [...commit(200, 'mk-1'), sync(300), response(), ...commit(200, 'mk-2', 8272), sync(301), response()]
    expect(check(two, ['mk-1', 'mk-2'])).toEqual([])
  })

  it('reads calls split by other threads (unfinished ... resumed)', () => {
    const lines = [
      ...commit(200, 'mk-1'),
      `300 fdatasync(${fd(32, WAL)} <unfinished ...>`,
      `200 write(${fd(17, 'anon_inode:[eventfd]')}, "${hex(Buffer.alloc(8))}", 8) = 8`,
      '300 <... fdatasync resumed>) = 0',
      response()
    ]
    expect(check(lines)).toEqual([])
    // The same sync still running when the response is written does not count.
    const early = [...lines.slice(0, -2), response(), '300 <... fdatasync resumed>) = 0']
    expect(check(early)[0]).toMatch(/response 1 \(mk-1, line \d+\): no fsync\/fdatasync of \/data\/relay\.db-wal started after the commit/)
  })

  it('finds the commit frame: the write after a 24-byte header with a non-zero size ends a transaction', () => {
    const commits = walCommits(parseTrace([...commit(200, 'mk-1'), ...commit(200, 'mk-2', 8272)].join('\n')), WAL)
    expect(commits).toHaveLength(2)
    expect(commits.map((c) => [c.data.includes('mk-1'), c.data.includes('mk-2')])).toEqual([[true, false], [false, true]])
    expect(commits.map((c) => c.end)).toEqual([3, 7])
  })

  it('names a 200 sent before any sync, after a failed one, or after a sync of another file', () => {
    expect(check([...commit(200, 'mk-1'), response()])[0]).toMatch(/no fsync\/fdatasync .* returned 0 before the response/)
    expect(check([...commit(200, 'mk-1'), sync(300, WAL, '-1 EIO (Input/output error)'), response()])[0]).toMatch(/no fsync\/fdatasync/)
    expect(check([...commit(200, 'mk-1'), sync(300, '/data/relay.db'), response()])[0]).toMatch(/no fsync\/fdatasync/)
  })

  it('names a sync that started before the commit frame was written', () => {
    const frames = commit(200, 'mk-1')
    const lines = [...frames.slice(0, 2), sync(300), ...frames.slice(2), response()]
    expect(check(lines)[0]).toMatch(/no fsync\/fdatasync .*started after the commit \(last write at line 5\)/)
  })

  it('names a 200 with no commit of the event before it, a refusal, and a count that does not match', () => {
    expect(check([...commit(200, 'mk-other'), sync(300), response()])[0]).toMatch(/no WAL commit holding the event/)
    // The frames written but the commit frame missing: not a commit.
    expect(check([...commit(200, 'mk-1').slice(0, 2), sync(300), response()])[0]).toMatch(/no WAL commit holding the event/)
    expect(check([...commit(200, 'mk-1'), sync(300), response(503)])[0]).toMatch(/is 503, not 200/)
    expect(check([...commit(200, 'mk-1'), sync(300), response()], ['mk-1', 'mk-2'])[0]).toBe('1 HTTP responses in the trace for 2 requests')
  })
})
