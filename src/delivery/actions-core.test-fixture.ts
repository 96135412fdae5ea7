/**
 * The stand-in CSB and the one-action definition the actions-core contract test
 * (actions-core.test.ts) runs its assumptions against. Named for the seam, since it opens
 * actions-core's internals as actions-core.ts does; excluded from the build.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll } from 'vitest'
import { Destination } from '@segment/actions-core'

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
  options?: Record<string, unknown>
  path?: string
}

/** A destination with one action, `send`, that posts `{ name }` as JSON to `settings.baseUrl` + probe.path. */
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
        }
      }
    }
  }
}

/** Opens the protected executeAction, as actions-core.ts does. */
export class Open extends Destination<any> {
  run(settings: Record<string | symbol, unknown>, event: Record<string, unknown> = { name: 'Ada' }) {
    return this.executeAction('send', {
      event: event as never,
      mapping: { name: { '@path': '$.name' } },
      settings,
      auth: { accessToken: undefined, refreshToken: undefined, refreshTokenUrl: undefined } as never,
      features: {},
      statsContext: {} as never,
      subscriptionMetadata: { actionConfigId: undefined, destinationConfigId: undefined, actionId: undefined, sourceId: undefined }
    })
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
