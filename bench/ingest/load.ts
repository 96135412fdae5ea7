/** The load generator: keep-alive connections in a closed loop, bounded in time and count. */
import http from 'node:http'
import { body, type Body, type Scenario } from './requests'

export interface Slice {
  events: number
  requests: number
  seconds: number
  /** Answers other than 200 and network errors: their events are not counted. */
  errors: number
}

let firstNetworkError: Error | undefined

/** The first network error of the run, if any (each is counted as an error, never aborting the run). */
export const networkError = () => firstNetworkError

/** Resolves with the status, or 0 on a network error. */
export function post(url: URL, agent: http.Agent, { path, payload, headers }: Body): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname, port: url.port, path, method: 'POST', agent,
        headers: { 'content-type': 'application/json', ...headers, 'content-length': Buffer.byteLength(payload) }
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      }
    )
    req.on('error', (err) => {
      firstNetworkError ??= err
      resolve(0)
    })
    req.on('socket', (socket) => socket.setNoDelay(true))
    req.end(payload)
  })
}

/** `connections` loops posting `scenario` bodies to `base` for `seconds` or until `maxRequests` are sent. */
export async function drive(base: string, scenario: Scenario, seconds: number, connections: number, maxRequests: number): Promise<Slice> {
  const url = new URL(base)
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  const deadline = performance.now() + seconds * 1000
  const slice: Slice = { events: 0, requests: 0, seconds: 0, errors: 0 }
  const started = performance.now()
  const loop = async () => {
    while (performance.now() < deadline && slice.requests < maxRequests) {
      const next = body(scenario)
      slice.requests++
      const status = await post(url, agent, next)
      if (status === 200) slice.events += next.events
      else slice.errors++
    }
  }
  await Promise.all(Array.from({ length: connections }, loop))
  slice.seconds = (performance.now() - started) / 1000
  agent.destroy()
  return slice
}
