/**
 * Deletions handed to a destination beside CSB: an in-house definition (config
 * `destinations[].definition`, a local module) implementing onDelete posts each deleted user to a
 * test server. Through the built relay (`csb-relay start`) and `csb-relay regulate --wait`: the
 * server gets every user; one it refuses makes the regulation FAILED, naming the destination.
 */
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, runToExit, startRelayProcess, type RelayProcess } from '../helpers/processes'
import { tempDir } from '../helpers/temp'
import { regulate, settled } from './regulations-helpers'

const TOKEN = 'erasure-hook-SECRET-token-0123'
const REFUSED = 'u-refused'

/** The definition, as a user writes one: plain CommonJS, the request client it is given. */
const DEFINITION = `module.exports = {
  name: 'Erasure Hook',
  mode: 'cloud',
  authentication: {
    scheme: 'custom',
    fields: {
      url: { label: 'URL', description: 'The hook', type: 'string', required: true },
      token: { label: 'Token', description: 'The secret', type: 'password', required: true }
    }
  },
  actions: {
    send: {
      title: 'Send', description: 'Posts the event',
      fields: { data: { label: 'Data', description: 'The event', type: 'object', default: { '@path': '$.' } } },
      perform: (request, { payload, settings }) => request(settings.url + '/events', { method: 'post', json: payload.data })
    }
  },
  presets: [{ name: 'tracks', subscribe: 'type = "track"', partnerAction: 'send', mapping: {}, type: 'automatic' }],
  onDelete: (request, { payload, settings }) =>
    request(settings.url + '/erase', { method: 'post', json: { userId: payload.userId }, headers: { authorization: 'Bearer ' + settings.token } })
}
`

interface Erasure {
  userId: string
  authorization: string | undefined
}

describe('onDelete: deletions reach a destination that implements it', () => {
  let server: http.Server
  const erasures: Erasure[] = []
  let relay: RelayProcess

  beforeAll(async () => {
    assertBuilt()
    server = http.createServer((req, res) => {
      let text = ''
      req.on('data', (chunk) => (text += chunk))
      req.on('end', () => {
        const userId = (JSON.parse(text || '{}') as { userId?: string }).userId ?? ''
        if (req.url === '/erase') erasures.push({ userId, authorization: req.headers.authorization })
        res.writeHead(userId === REFUSED ? 400 : 200, { 'content-type': 'application/json' }).end('{}')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const dir = tempDir('on-delete')
    fs.writeFileSync(path.join(dir, 'erasure-hook.js'), DEFINITION)
    relay = await startRelayProcess({
      dir,
      env: { LOG_LEVEL: 'warn' },
      config: {
        sources: [{ name: 'on-delete-test', writeKey: 'wk-on-delete-test' }],
        destinations: [{ name: 'hooks', definition: './erasure-hook.js', settings: { url, token: TOKEN } }]
      }
    })
  })

  afterAll(async () => {
    const code = await relay?.stop()
    await new Promise((resolve) => server?.close(resolve))
    if (relay) fs.rmSync(relay.dir, { recursive: true, force: true })
    expect(code).toEqual({ code: 0, signal: null })
  })

  it('hands each deleted user to the definition\'s onDelete, with its settings; FINISHED with the count', async () => {
    const done = await settled(relay.url, await regulate(relay.url, 'DELETE_ONLY', ['u-1', 'u-2']))
    expect(done).toMatchObject({ status: 'FINISHED', error: null, counts: { destinationDeletes: 2, destinationDeleteFailures: 0 } })
    expect(erasures.map((e) => e.userId).sort()).toEqual(['u-1', 'u-2'])
    expect(new Set(erasures.map((e) => e.authorization))).toEqual(new Set([`Bearer ${TOKEN}`]))
  })

  it('SUPPRESS_WITH_DELETE hands the deletion on too; SUPPRESS_ONLY does not', async () => {
    erasures.length = 0
    expect(await settled(relay.url, await regulate(relay.url, 'SUPPRESS_ONLY', ['u-3']))).toMatchObject({ status: 'FINISHED', counts: { destinationDeletes: 0 } })
    expect(erasures).toEqual([])
    expect(await settled(relay.url, await regulate(relay.url, 'SUPPRESS_WITH_DELETE', ['u-3']))).toMatchObject({ status: 'FINISHED', counts: { destinationDeletes: 1 } })
    expect(erasures.map((e) => e.userId)).toEqual(['u-3'])
  })

  it('a deletion the destination refuses makes the regulation FAILED, naming the destination (csb-relay regulate --wait exits 1)', async () => {
    erasures.length = 0
    const r = await runToExit(['regulate', '--type', 'DELETE_ONLY', 'u-4', REFUSED, '--wait', '--url', relay.url])
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toMatch(/^Regulation \S+: DELETE_ONLY of 2 user\(s\), FAILED$/m)
    expect(r.stdout).toContain('reason: destination "hooks" failed 1 deletion(s): HTTP 400: Bad Request')
    expect(r.stdout).toMatch(/deletions handed to destinations: 1\n {2}deletions destinations failed: 1/)
    expect(r.stdout + r.stderr).not.toContain(TOKEN)
    expect(erasures.map((e) => e.userId).sort()).toEqual(['u-4', REFUSED])
    const listed = await runToExit(['regulate', 'list', '--status', 'failed', '--json', '--url', relay.url])
    expect(JSON.parse(listed.stdout)).toMatchObject([{ regulationType: 'DELETE_ONLY', status: 'FAILED', origin: 'cli', error: expect.stringContaining('"hooks"') }])
  })
})
