/**
 * Reads a trace written by `strace -f -y -xx -s N -o FILE` and checks the relay's promise: an
 * event is acknowledged (HTTP 200) only once it is on disk. SIGKILL tests cannot see a missing
 * fsync (the page cache outlives the process); the system calls can.
 *
 * In WAL mode SQLite commits by appending frames to `<db>-wal`, each a 24-byte header written on
 * its own, then the page; the header of the last frame of a transaction carries a non-zero
 * "database size" (bytes 4-7), which marks the commit. A commit is durable once an fsync or
 * fdatasync of the WAL file, started after the commit's last write returned, has returned 0.
 * strace lets a thread go on only after it has printed that thread's stop, so the order of the
 * lines follows cause and effect: a sync printed as returned before a response's write began
 * did finish before it.
 */

export interface SysCall {
  pid: number
  name: string
  /** The file descriptor's path as -y shows it (`/path`, `socket:[inode]`, `pipe:[...]`). */
  path?: string
  /** The bytes written (write, pwrite64, writev, ...), every buffer of the call in order. */
  data: Buffer
  /** pwrite64's offset. */
  offset?: number
  /** The return value; NaN while unknown (a call the trace ends in). */
  result: number
  /** Line numbers (0-based) of the call's entry and of its return. */
  start: number
  end: number
}

const HEX_RUN = /\\x([0-9a-f]{2})/g
const decode = (hex: string) => Buffer.from(hex.replace(HEX_RUN, '$1'), 'hex')

function parseArgs(call: SysCall, args: string): void {
  const fd = /^\d+<((?:\\x[0-9a-f]{2})*)>/.exec(args)
  if (fd) call.path = decode(fd[1]!).toString('utf8')
  const strings = [...args.matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)].map((m) => decode(m[1]!))
  call.data = Buffer.concat(strings)
  if (call.name === 'pwrite64') {
    const offset = /", \d+, (\d+)\)?\s*$/.exec(args)
    if (offset) call.offset = Number(offset[1])
  }
}

/** Every traced call, in the order of its entry line. */
export function parseTrace(text: string): SysCall[] {
  const calls: SysCall[] = []
  const open = new Map<number, SysCall>()
  const lines = text.split('\n')
  lines.forEach((line, index) => {
    const head = /^(\d+) +(.*)$/.exec(line)
    if (!head) return
    const pid = Number(head[1])
    const rest = head[2]!
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest)
    if (resumed) {
      const call = open.get(pid)
      if (!call || call.name !== resumed[1]) return
      open.delete(pid)
      call.end = index
      call.result = resultOf(resumed[2]!)
      return
    }
    const entry = /^(\w+)\((.*)$/.exec(rest)
    if (!entry) return
    const call: SysCall = { pid, name: entry[1]!, data: Buffer.alloc(0), result: Number.NaN, start: index, end: index }
    const unfinished = entry[2]!.endsWith('<unfinished ...>')
    const args = unfinished ? entry[2]!.slice(0, -'<unfinished ...>'.length) : entry[2]!.replace(/\) += .*$/, ')')
    parseArgs(call, args)
    if (unfinished) open.set(pid, call)
    else call.result = resultOf(entry[2]!)
    calls.push(call)
  })
  return calls
}

function resultOf(tail: string): number {
  const m = /\) += (-?\d+)/.exec(tail)
  return m ? Number(m[1]) : Number.NaN
}

const SOCKET = /^(socket|TCP|TCPv6):\[/
const WRITES = new Set(['write', 'pwrite64', 'writev', 'pwritev', 'pwritev2'])
const SYNCS = new Set(['fsync', 'fdatasync'])

/** A WAL transaction: its frames' bytes and the line its commit frame's last write returned. */
export interface WalCommit {
  path: string
  data: Buffer
  end: number
}

/** Commits to `walPath`, in order: the frames each thread wrote up to and including a commit frame. */
export function walCommits(calls: SysCall[], walPath: string): WalCommit[] {
  const commits: WalCommit[] = []
  const building = new Map<number, { parts: Buffer[]; commitHeaderSeen: boolean }>()
  for (const call of [...calls].sort((a, b) => a.end - b.end)) {
    if (!WRITES.has(call.name) || call.path !== walPath || !(call.result > 0)) continue
    const state = building.get(call.pid) ?? { parts: [], commitHeaderSeen: false }
    building.set(call.pid, state)
    state.parts.push(call.data)
    if (state.commitHeaderSeen) {
      commits.push({ path: walPath, data: Buffer.concat(state.parts), end: call.end })
      building.delete(call.pid)
    } else if (call.data.length === 24 && call.data.readUInt32BE(4) !== 0 && (call.offset === undefined || call.offset >= 32)) {
      state.commitHeaderSeen = true
    }
  }
  return commits
}

/** Writes of an HTTP response (`HTTP/1.1 ...`) on a socket, in order. */
export function httpResponses(calls: SysCall[]): Array<SysCall & { status: number }> {
  return calls
    .filter((c) => WRITES.has(c.name) && c.path !== undefined && SOCKET.test(c.path) && c.data.subarray(0, 9).toString('latin1') === 'HTTP/1.1 ')
    .map((c) => ({ ...c, status: Number(c.data.subarray(9, 12).toString('latin1')) }))
}

/**
 * For the i-th HTTP response in the trace, answering the i-th request (sent one at a time) that
 * carried `markers[i]` in every event: it must be a 200 written after a WAL commit holding the
 * marker and after an fsync/fdatasync of the WAL that started once that commit's last write had
 * returned and itself returned 0. Answers what falls short, one line each (none: all held).
 */
export function unsyncedAcknowledgements(calls: SysCall[], walPath: string, markers: string[]): string[] {
  const problems: string[] = []
  const responses = httpResponses(calls)
  if (responses.length !== markers.length) problems.push(`${responses.length} HTTP responses in the trace for ${markers.length} requests`)
  const commits = walCommits(calls, walPath)
  const syncs = calls.filter((c) => SYNCS.has(c.name) && c.path === walPath)
  responses.slice(0, markers.length).forEach((response, i) => {
    const marker = markers[i]!
    const what = `response ${i + 1} (${marker}, line ${response.start + 1})`
    if (response.status !== 200) return void problems.push(`${what} is ${response.status}, not 200`)
    const holding = commits.filter((c) => c.end < response.start && c.data.includes(marker))
    if (holding.length === 0) return void problems.push(`${what}: no WAL commit holding the event was written before it`)
    const synced = holding.some((c) => syncs.some((s) => s.start > c.end && s.end < response.start && s.result === 0))
    if (!synced) {
      const lines = holding.map((c) => c.end + 1).join(', ')
      problems.push(`${what}: no fsync/fdatasync of ${walPath} started after the commit (last write at line ${lines}) and returned 0 before the response`)
    }
  })
  return problems
}
