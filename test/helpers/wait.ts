/** Waiting for things in tests: a condition, a port, a free port. */
import net from 'node:net'

export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {}
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** Resolves when something accepts TCP connections on host:port. */
export function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<void> {
  return waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect({ port, host })
        socket.once('connect', () => { socket.destroy(); resolve(true) })
        socket.once('error', () => resolve(false))
      }),
    { timeoutMs, what: `${host}:${port} to accept connections` }
  ).then(() => undefined)
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
