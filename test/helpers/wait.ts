/** Waiting in tests: for a condition, for a while, for a free port. */
import net from 'node:net'

export interface WaitOptions {
  /** Default 20 s: generous, since two cores are shared by the test processes and the relays they start. */
  timeoutMs?: number
  intervalMs?: number
}

/**
 * Polls `check` until it returns a truthy value, and resolves with that value. A check that
 * throws is tried again (a server not yet answering, an element not yet on the page); at the
 * deadline the error names `what` and the last exception.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutMs = 20_000, intervalMs = 25 }: WaitOptions = {}
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value) return value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await sleep(intervalMs)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A port free right now on 127.0.0.1 (prefer --port 0 where the server can report its port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}
