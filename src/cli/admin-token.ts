/**
 * The admin token in force at start. Set by the operator (CSB_RELAY_ADMIN_TOKEN or
 * `"adminToken"`), it is used as given. Otherwise, a relay that listens beyond this machine (any
 * host but a loopback address) generates one on first start; the store keeps only its hash
 * (meta ADMIN_TOKEN_HASH_META), so the token can be printed that once and never again. Once a
 * hash is kept it is required on every later start, whatever the host. `start
 * --new-admin-token` replaces it with a new one (printed once too).
 */
import { randomBytes } from 'node:crypto'
import { hashAdminToken, isAdminTokenHash, isLoopbackAddress } from '../ops'
import type { Store } from '../store'

export const ADMIN_TOKEN_HASH_META = 'ops.adminTokenHash'

/** Where the token in force comes from; `none`: no token, the admin API answers this machine only. */
export type AdminTokenSource = 'configuration' | 'generated' | 'none'

export interface AdminAccess {
  source: AdminTokenSource
  /** `sha256:<hex>` of the token in force; absent with source `none`. */
  hash?: string
  /** The token generated at this start: printed once, then known by its hash only. */
  createdNow?: string
}

export interface AdminTokenOptions {
  /** The token set by the operator, if any. */
  configured?: string
  /** The address the relay listens on (`--host` / HOST). */
  host: string
  /** Make a new token and replace the kept hash (start --new-admin-token). */
  renew?: boolean
}

export class AdminTokenError extends Error {
  override name = 'AdminTokenError'
}

export function newAdminToken(): string {
  return `at_${randomBytes(32).toString('base64url')}`
}

/** `localhost` and loopback addresses; any other host (0.0.0.0, ::, an interface's address, a name) reaches beyond this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase()
  return bare === 'localhost' || isLoopbackAddress(bare)
}

/**
 * The admin access a relay starts with. Relays starting together on one empty database agree
 * on one token: each offers a hash, the store keeps the first, and only the relay whose hash
 * was kept prints its token (the others cannot know it).
 */
export async function ensureAdminToken(store: Pick<Store, 'getMeta' | 'setMeta' | 'setMetaIfAbsent'>, options: AdminTokenOptions): Promise<AdminAccess> {
  if (options.configured) {
    if (options.renew) {
      throw new AdminTokenError('--new-admin-token: the admin token is set by CSB_RELAY_ADMIN_TOKEN or "adminToken" in the config file; change it there instead')
    }
    return { source: 'configuration', hash: hashAdminToken(options.configured) }
  }
  if (options.renew) {
    const token = newAdminToken()
    const hash = hashAdminToken(token)
    await store.setMeta(ADMIN_TOKEN_HASH_META, hash)
    return { source: 'generated', hash, createdNow: token }
  }
  const kept = await store.getMeta(ADMIN_TOKEN_HASH_META)
  if (kept !== null) return { source: 'generated', hash: checked(kept) }
  if (isLoopbackHost(options.host)) return { source: 'none' }
  const token = newAdminToken()
  const offered = hashAdminToken(token)
  const hash = checked(await store.setMetaIfAbsent(ADMIN_TOKEN_HASH_META, offered))
  return hash === offered ? { source: 'generated', hash, createdNow: token } : { source: 'generated', hash }
}

function checked(hash: string): string {
  if (!isAdminTokenHash(hash)) {
    throw new AdminTokenError(
      `the store's meta "${ADMIN_TOKEN_HASH_META}" is not a sha256:<hex> hash; start with --new-admin-token to replace it, or set CSB_RELAY_ADMIN_TOKEN`
    )
  }
  return hash
}
