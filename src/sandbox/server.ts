/**
 * `startSandbox`: the sandbox's HTTP server (plain node:http, to keep the hot path short). Each
 * request's body is read, then it goes to the `/_sandbox/*` control endpoints or to CSB's
 * endpoints (faults in front of CSB's own checks); a refuse-mode outage closes the listening
 * socket and reopens it on the same port when it ends.
 */
import type http from 'node:http'
import { handleControl } from './control'
import { handleCsbRequest, type CsbRequestDeps } from './csb-request'
import { FaultEngine, seededRandom, type ActiveOutage } from './fault-engine'
import { parseFaultsInput } from './fault-input'
import { readBody, sendJson, splitUrl } from './http-io'
import { Listener } from './listener'
import { Recorder } from './recorder'
import type { Sandbox, SandboxOptions } from './types'
import { RequestWaiters } from './waiters'

export { MAX_BODY_BYTES } from './http-io'
export const DEFAULT_API_KEY = 'sandbox-key'
export const DEFAULT_RECORD_LIMIT = 1_000_000

function checkOptions(options: SandboxOptions): { port: number; host: string; apiKey: string; recordLimit: number } {
  const port = options.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`sandbox: port must be an integer from 0 to 65535, got ${String(options.port)}`)
  const host = options.host ?? '127.0.0.1'
  if (typeof host !== 'string' || host === '') throw new TypeError('sandbox: host must be a non-empty string')
  const apiKey = options.apiKey ?? DEFAULT_API_KEY
  if (typeof apiKey !== 'string' || apiKey === '') throw new TypeError('sandbox: apiKey must be a non-empty string')
  const recordLimit = options.recordLimit ?? DEFAULT_RECORD_LIMIT
  if (!Number.isInteger(recordLimit) || recordLimit < 1) throw new TypeError(`sandbox: recordLimit must be an integer >= 1, got ${String(options.recordLimit)}`)
  return { port, host, apiKey, recordLimit }
}

/** The address clients use: a wildcard host is still reached on loopback (which the destination accepts over http). */
function urlOf(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const { port, host, apiKey, recordLimit } = checkOptions(options)
  if (options.faults) parseFaultsInput(options.faults) // a bad fault set fails before anything listens
  const recorder = new Recorder(recordLimit)
  const waiters = new RequestWaiters(recorder)
  const random = options.seed === undefined ? Math.random : seededRandom(options.seed)
  /** Ends a refuse-mode outage when it is due. */
  let outageTimer: NodeJS.Timeout | undefined

  const listener = new Listener({ host, port, onRequest, refusing: () => engine.activeOutage()?.mode === 'refuse' })

  function onOutage(next: ActiveOutage | null, previous: ActiveOutage | null): void {
    clearTimeout(outageTimer)
    outageTimer = undefined
    listener.cancelResume()
    if (next?.mode === 'refuse') {
      listener.stop()
      outageTimer = setTimeout(() => engine.endOutage(), Math.max(0, next.endsAtMs - Date.now()))
    } else if (previous?.mode === 'refuse') {
      listener.resume()
    }
  }

  const engine = new FaultEngine(random, onOutage)
  const csb: CsbRequestDeps = { apiKey, engine, recorder, waiters, onRequest: options.onRequest }

  function clearRequests(): void {
    recorder.clear()
    waiters.restart()
  }

  function onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const [path, query] = splitUrl(req.url ?? '/')
    readBody(req, (text, bytes) => {
      try {
        if (path.startsWith('/_sandbox/') || path === '/_sandbox') {
          handleControl({ req, res, path, query, text, bytes, recorder, clearRequests, engine, send: sendJson, spare: (s) => listener.spare(s) })
        } else {
          handleCsbRequest(csb, req, res, path, text, bytes)
        }
      } catch (err) {
        // Nothing a client sends may take the sandbox down; say what went wrong instead.
        if (!res.headersSent && !res.destroyed) sendJson(res, 500, { success: false, message: `sandbox error: ${(err as Error).message}` })
      } finally {
        listener.spare(null)
      }
    })
  }

  await listener.start()
  if (options.faults) engine.set(options.faults)

  return {
    url: urlOf(host, listener.port),
    port: listener.port,
    apiKey,
    requests: (filter) => recorder.list(filter),
    clearRequests,
    setFaults: (faults) => engine.set(faults),
    clearFaults: () => engine.clear(),
    faults: () => engine.snapshot(),
    waitForRequests: (count, waitOptions) => waiters.wait(count, waitOptions),
    close: () => {
      clearTimeout(outageTimer)
      return listener.close()
    }
  }
}
