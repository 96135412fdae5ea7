/**
 * The stand-in CSB, the one-action definition and the `assumption` helper the actions-core
 * contract tests (actions-core.test.ts, actions-core.batch.test.ts) run their assumptions with.
 * Named for the seam, since it opens actions-core's internals as actions-core.ts does; excluded
 * from the build.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { Destination } from '@segment/actions-core'
import { NO_ANSWER_ERROR_CODES, NO_ANSWER_ERROR_NAMES } from './actions-core'

const require = createRequire(__filename)
/** The installed actions-core's version, named in every broken assumption. */
export const VERSION = (JSON.parse(readFileSync(path.join(path.dirname(require.resolve('@segment/actions-core')), '../../package.json'), 'utf8')) as { version: string }).version

/** An `it` whose failure says which assumption of the seam the installed actions-core breaks. */
export function assumption(name: string, check: () => Promise<void> | void): void {
  it(name, async () => {
    try {
      await check()
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error)
      throw new Error(`@segment/actions-core ${VERSION} breaks an assumption of src/delivery/actions-core.ts: ${name}\n${detail}`)
    }
  })
}

export interface Seen { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }

/** A local CSB stand-in: /json answers JSON, /text text with status 503, /big 256 KB, /silent never. */
let server: http.Server
export let base = ''
export const seen: Seen[] = []
/** Registers the stand-in server with the calling test file's hooks. */
export function useStandIn(): void {
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (chunk: string) => (body += chunk))
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body })
        if (req.url === '/silent') return
        if (req.url === '/text') return void res.writeHead(503, { 'content-type': 'text/plain' }).end('busy')
        if (req.url === '/big') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(256 * 1024))
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
}

export type Hook = (...args: any[]) => any
export interface Probe {
  settings?: unknown[]
  extend?: Record<string, unknown>
  /** Returned by extendRequest as it is, instead of options built for each run. */
  fixed?: Record<string, unknown>
  options?: Record<string, unknown>
  path?: string
  /** The payloads each performBatch gets. */
  batches?: unknown[][]
  /** performBatch's own answer, instead of posting the payloads. */
  batch?: (request: Hook, data: { payload: Array<{ name: string }>; settings: { baseUrl: string } }) => unknown
}

/**
 * A destination with one action, `send`, that posts `{ name }` as JSON to `settings.baseUrl` +
 * probe.path; its performBatch posts the list of them.
 */
export function definition(probe: Probe = {}) {
  return {
    name: 'Contract',
    mode: 'cloud' as const,
    authentication: {
      scheme: 'custom' as const,
      fields: {
        apiKey: { label: 'API Key', description: 'The key.', type: 'string' as const, required: true },
        baseUrl: { label: 'Base URL', description: 'Where to send.', type: 'string' as const, required: true }
      }
    },
    extendRequest: ({ settings }: { settings: { apiKey: string } }) => {
      probe.settings?.push(settings)
      if (probe.fixed) return probe.fixed
      return { headers: { Authorization: `Bearer ${settings.apiKey}`, Accept: 'application/json' }, ...probe.extend }
    },
    actions: {
      send: {
        title: 'Send',
        description: 'Sends the name.',
        fields: { name: { label: 'Name', description: 'The name.', type: 'string' as const, required: true } },
        perform: (request: Hook, { payload, settings }: { payload: { name: string }; settings: { baseUrl: string } }) => {
          probe.settings?.push(settings)
          return request(`${settings.baseUrl}${probe.path ?? '/json'}`, { method: 'post', json: { name: payload.name }, ...probe.options })
        },
        performBatch: (request: Hook, data: { payload: Array<{ name: string }>; settings: { baseUrl: string } }) => {
          probe.settings?.push(data.settings)
          probe.batches?.push(data.payload)
          if (probe.batch) return probe.batch(request, data)
          return request(`${data.settings.baseUrl}${probe.path ?? '/json'}`, { method: 'post', json: data.payload.map((p) => ({ name: p.name })), ...probe.options })
        }
      }
    }
  }
}

/** What a run passes besides the event(s), as actions-core.ts passes it. */
const context = (settings: Record<string | symbol, unknown>) => ({
  mapping: { name: { '@path': '$.name' } },
  settings,
  auth: { accessToken: undefined, refreshToken: undefined, refreshTokenUrl: undefined } as never,
  features: {},
  statsContext: {} as never,
  subscriptionMetadata: { actionConfigId: undefined, destinationConfigId: undefined, actionId: undefined, sourceId: undefined }
})

/** Opens the protected executeAction and executeBatch, as actions-core.ts does. */
export class Open extends Destination<any> {
  run(settings: Record<string | symbol, unknown>, event: Record<string, unknown> = { name: 'Ada' }) {
    return this.executeAction('send', { event: event as never, ...context(settings) })
  }

  runBatch(settings: Record<string | symbol, unknown>, events: Array<Record<string, unknown>> = [{ name: 'Ada' }, { name: 'Grace' }]): Promise<unknown[]> {
    return this.executeBatch('send', { events: events as never, ...context(settings) }) as Promise<unknown[]>
  }
}

/** Replaces the `send` action's createRequestClient, as actions-core.ts does; `make` gets actions-core's own. */
export function replaceClients(destination: Open, make: (build: (data: any) => unknown, data: any) => unknown): void {
  const action = destination.actions.send as unknown as { createRequestClient: (data: unknown) => unknown }
  const build = action.createRequestClient.bind(action)
  action.createRequestClient = (data) => make(build, data)
}

export const settings = () => ({ apiKey: 'k1', baseUrl: base })
export const open = (probe?: Probe) => new Open(definition(probe) as never)
export const last = () => seen[seen.length - 1]

/**
 * Runs `attempt` (a run or batch run of `open(...)`) against the stand-in's path that never
 * answers, with a 100 ms timeout: it must fail within 3 s with an error the seam counts as no
 * answer (NO_ANSWER_ERROR_NAMES / _CODES).
 */
export async function expectNoAnswer(attempt: (destination: Open) => Promise<unknown>): Promise<void> {
  const started = Date.now()
  const error = (await attempt(open({ extend: { timeout: 100 }, path: '/silent' })).catch((e: unknown) => e)) as { name?: string; code?: string }
  expect(Date.now() - started).toBeLessThan(3000)
  expect(NO_ANSWER_ERROR_NAMES.has(String(error?.name)) || NO_ANSWER_ERROR_CODES.has(String(error?.code))).toBe(true)
}
