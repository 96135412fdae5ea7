import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import csbDestination from '../destination'
import { deletionOf } from './actions-core'
import { destinationDeleters } from './deletions'
import type { CheckedDestination } from './destination-check'
import { deliveryDefaults } from './types'

const API_KEY = 'erasure_SECRET_key_0123456789'

interface Received {
  path: string
  authorization: string | undefined
  body: unknown
}

let server: http.Server | undefined
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())))

/** A server answering each request with the next status of `statuses` (the last one repeats). */
async function answering(statuses: number[]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = []
  server = http.createServer((req, res) => {
    let text = ''
    req.on('data', (chunk) => (text += chunk))
    req.on('end', () => {
      received.push({ path: req.url ?? '', authorization: req.headers.authorization, body: text ? JSON.parse(text) : null })
      res.writeHead(statuses[Math.min(received.length, statuses.length) - 1]!, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, received }
}

/** An in-house definition whose onDelete posts the user to `settings.url`/erase. */
const definition = {
  name: 'Erasing CRM',
  mode: 'cloud',
  authentication: {
    scheme: 'custom',
    fields: {
      url: { label: 'URL', description: 'where to send', type: 'string', required: true },
      apiKey: { label: 'Key', description: 'secret', type: 'password', required: true }
    }
  },
  extendRequest: ({ settings }: { settings: { apiKey: string } }) => ({ headers: { authorization: `Bearer ${settings.apiKey}` } }),
  actions: { send: { title: 'Send', description: 'unused', fields: {}, perform: () => undefined } },
  onDelete: (request: (url: string, options: object) => Promise<unknown>, { payload, settings }: { payload: { userId: string }; settings: { url: string } }) =>
    request(`${settings.url}/erase`, { method: 'post', json: { user: payload.userId } })
}

function checked(url: string, extra: Partial<typeof definition> & Record<string, unknown> = {}): CheckedDestination {
  return {
    config: { name: 'crm', definition: './crm.js', settings: { url, apiKey: API_KEY } },
    definition: { ...definition, ...extra } as never,
    subscriptions: [],
    configured: [],
    batching: new Map(),
    secrets: [API_KEY]
  }
}

function deleters(destinations: CheckedDestination[], delays: number[] = []) {
  return destinationDeleters(destinations, {
    settings: deliveryDefaults,
    random: () => 0.5,
    sleep: async (ms) => void delays.push(ms)
  })
}

describe('deletions handed to destinations (onDelete)', () => {
  it('hands a Segment delete event to the definition\'s onDelete, with its settings and extendRequest', async () => {
    const crm = await answering([200])
    const [deleter, ...rest] = deleters([checked(crm.url)])
    expect(rest).toEqual([])
    expect(deleter!.name).toBe('crm')
    await deleter!.deleteUser('u-42')
    expect(crm.received).toEqual([{ path: '/erase', authorization: `Bearer ${API_KEY}`, body: { user: 'u-42' } }])
  })

  it('leaves out destinations without onDelete, and CustomerSuccessBox has none', async () => {
    const { onDelete: _none, ...withoutOnDelete } = definition
    const plain = checked('http://127.0.0.1:9')
    plain.definition = withoutOnDelete as never
    expect(deleters([plain])).toEqual([])
    expect(deletionOf(csbDestination as never, { timeoutMs: () => 1000 })).toBeNull()
    expect((csbDestination as { onDelete?: unknown }).onDelete).toBeUndefined()
  })

  it('retries a retryable failure with backoff, and resolves when the destination takes it', async () => {
    const crm = await answering([503, 500, 200])
    const delays: number[] = []
    await deleters([checked(crm.url)], delays)[0]!.deleteUser('u-1')
    expect(crm.received).toHaveLength(3)
    // Full jitter at random 0.5: half of base (1 s) × 2^(attempt-1).
    expect(delays).toEqual([500, 1000])
  })

  // docs/privacy.md, "Deletions handed to destinations": "four attempts in all".
  it('gives up after 4 attempts of a retryable failure, with the status in the reason', async () => {
    const crm = await answering([500])
    const delays: number[] = []
    await expect(deleters([checked(crm.url)], delays)[0]!.deleteUser('u-1')).rejects.toThrow(/^HTTP 500: .* after 4 attempts$/)
    expect(crm.received).toHaveLength(4)
    expect(delays).toHaveLength(3)
  })

  it('fails at once on a refusal (4xx), and no secret of the destination reaches the reason', async () => {
    const crm = await answering([400])
    await expect(deleters([checked(crm.url)])[0]!.deleteUser('u-1')).rejects.toThrow(/^HTTP 400: Bad Request$/)
    expect(crm.received).toHaveLength(1)

    const leaky = checked(crm.url, { onDelete: async () => { throw new Error(`refused key ${API_KEY}`) } })
    const failure = await deleters([leaky])[0]!.deleteUser('u-1').catch((err: Error) => err.message)
    expect(failure).toMatch(/^Error: refused key /)
    expect(failure).not.toContain(API_KEY)
  })
})
