import { createHash } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../store'
import { ADMIN_TOKEN_HASH_META, AdminTokenError, ensureAdminToken, isLoopbackHost } from './admin-token'

const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`

describe('ensureAdminToken', () => {
  let store: Store
  beforeEach(async () => {
    store = await openStore(':memory:')
  })
  afterEach(async () => {
    await store.close()
  })

  it('takes loopback hosts for this machine only, and anything else for beyond it', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true)
    for (const host of ['0.0.0.0', '::', '[::]', '10.0.0.5', '192.168.1.2', 'relay.internal', 'fe80::1']) expect(isLoopbackHost(host), host).toBe(false)
  })

  it('on loopback with no token configured, makes none and keeps nothing', async () => {
    expect(await ensureAdminToken(store, { host: '127.0.0.1' })).toEqual({ source: 'none' })
    expect(await store.getMeta(ADMIN_TOKEN_HASH_META)).toBeNull()
  })

  for (const host of ['0.0.0.0', '::', '10.0.0.5']) {
    it(`on ${host}, makes a 32-byte token once and keeps only its hash`, async () => {
      const first = await ensureAdminToken(store, { host })
      expect(first.source).toBe('generated')
      expect(first.createdNow).toMatch(/^at_[A-Za-z0-9_-]{43}$/)
      expect(Buffer.from(first.createdNow!.slice(3), 'base64url')).toHaveLength(32)
      expect(first.hash).toBe(sha256(first.createdNow!))
      expect(await store.getMeta(ADMIN_TOKEN_HASH_META)).toBe(first.hash)

      // Later starts know the hash only, on any host.
      for (const later of [host, '127.0.0.1']) {
        expect(await ensureAdminToken(store, { host: later })).toEqual({ source: 'generated', hash: first.hash })
      }
    })
  }

  it('uses a configured token as given, and leaves a kept hash alone', async () => {
    const generated = await ensureAdminToken(store, { host: '0.0.0.0' })
    expect(await ensureAdminToken(store, { host: '0.0.0.0', configured: 'my-own-token' })).toEqual({ source: 'configuration', hash: sha256('my-own-token') })
    expect(await ensureAdminToken(store, { host: '127.0.0.1', configured: 'my-own-token' })).toEqual({ source: 'configuration', hash: sha256('my-own-token') })
    expect(await store.getMeta(ADMIN_TOKEN_HASH_META)).toBe(generated.hash)
  })

  it('renews: a new token replaces the kept hash, on loopback too; not while one is configured', async () => {
    const first = await ensureAdminToken(store, { host: '0.0.0.0' })
    const renewed = await ensureAdminToken(store, { host: '127.0.0.1', renew: true })
    expect(renewed.createdNow).toBeDefined()
    expect(renewed.createdNow).not.toBe(first.createdNow)
    expect(await store.getMeta(ADMIN_TOKEN_HASH_META)).toBe(sha256(renewed.createdNow!))
    await expect(ensureAdminToken(store, { host: '0.0.0.0', configured: 'mine', renew: true })).rejects.toThrow(/--new-admin-token: .*CSB_RELAY_ADMIN_TOKEN/)
  })

  it('relays starting together agree on one token; only the one whose hash was kept prints it', async () => {
    const all = await Promise.all(Array.from({ length: 4 }, () => ensureAdminToken(store, { host: '0.0.0.0' })))
    const kept = await store.getMeta(ADMIN_TOKEN_HASH_META)
    expect(new Set(all.map((a) => a.hash))).toEqual(new Set([kept]))
    const printed = all.filter((a) => a.createdNow !== undefined)
    expect(printed).toHaveLength(1)
    expect(sha256(printed[0]!.createdNow!)).toBe(kept)
  })

  it('refuses a kept value that is not a hash, naming the meta key and the fix', async () => {
    await store.setMeta(ADMIN_TOKEN_HASH_META, 'plain-token')
    const error = await ensureAdminToken(store, { host: '127.0.0.1' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AdminTokenError)
    expect((error as Error).message).toMatch(/"ops\.adminTokenHash" .*--new-admin-token/)
  })
})
