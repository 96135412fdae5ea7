/** CPU time from /proc (Linux); NaN or empty elsewhere, so figures built on them read "NaN", not a wrong number. */
import fs from 'node:fs'

/** CPU seconds (user + system) of a process, or of one thread when `file` names its task's stat. */
export function procCpuSeconds(pid: number | undefined, file = `/proc/${pid}/stat`): number {
  try {
    const fields = fs.readFileSync(file, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}

/** CPU seconds of this process's main thread alone (no store or delivery worker threads). */
export function mainThreadCpuSeconds(): number {
  return procCpuSeconds(process.pid, `/proc/${process.pid}/task/${process.pid}/stat`)
}

/** CPU seconds of each of this process's other threads, by thread id. */
export function otherThreadsCpuSeconds(): Map<string, number> {
  const out = new Map<string, number>()
  try {
    for (const tid of fs.readdirSync(`/proc/${process.pid}/task`)) {
      if (tid !== String(process.pid)) out.set(tid, procCpuSeconds(undefined, `/proc/${process.pid}/task/${tid}/stat`))
    }
  } catch {}
  return out
}

/** CPU seconds the whole machine has been busy (every process), from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0)
    return (total - fields[3]! - fields[4]!) / 100
  } catch {
    return NaN
  }
}

/**
 * Waits (up to `maxMs`) until process `pid` has used at most one clock tick (10 ms) of CPU over a 100 ms
 * window: a relay's background work (a WAL checkpoint after its inbox emptied) then does not run
 * into the next server's slice. Returns at once where /proc is missing.
 */
export async function untilQuiet(pid: number | undefined, maxMs = 2000): Promise<void> {
  const deadline = performance.now() + maxMs
  let before = procCpuSeconds(pid)
  while (Number.isFinite(before) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    const now = procCpuSeconds(pid)
    if (now - before < 0.015) return
    before = now
  }
}
