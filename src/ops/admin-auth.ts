/**
 * Who may use the admin API (`/api/`): with an admin token, whoever sends it, and no one else,
 * this machine included; without one, only clients on this machine that did not come through a
 * proxy. The relay keeps and compares only the token's SHA-256, never the token itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

/** How a token's hash is written where it is kept (the store's meta): `sha256:<64 hex digits>`. */
const HASH_PREFIX = 'sha256:'
const HASH_FORM = /^sha256:[0-9a-f]{64}$/

/**
 * The token's SHA-256. A plain hash, without salt or stretching, is enough for the generated
 * token: it is 32 random bytes, so no table or guessing finds it from its hash; salt and slow
 * hashes protect secrets people choose. A token set by the operator is hashed the same way but
 * only held in memory, where its plain value is too.
 */
export function hashAdminToken(token: string): string {
  return HASH_PREFIX + createHash('sha256').update(token, 'utf8').digest('hex')
}

export function isAdminTokenHash(value: string): boolean {
  return HASH_FORM.test(value)
}

/** Headers a proxy adds; a request carrying one was relayed, whatever its socket says. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip'] as const

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false
  return address === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(address)
}

/**
 * A client on this machine, not relayed: its connection comes from a loopback address and it
 * carries no forwarding header. The socket's address is read, never `request.ip`: with
 * `trustProxy` that one comes from X-Forwarded-For, which a client can write itself. A proxy on
 * this machine connects from loopback; its forwarding headers keep it from lending that
 * address to the clients it relays.
 */
export function isLocalClient(request: FastifyRequest): boolean {
  if (!isLoopbackAddress(request.socket.remoteAddress)) return false
  return FORWARDING_HEADERS.every((name) => request.headers[name] === undefined)
}

const BEARER = /^Bearer +(.+)$/i

/**
 * The `onRequest` hook of the admin API. `tokenHash`: the hash of the token in force, or null
 * when there is none. Comparing the hashes (32 bytes each, whatever was sent) with
 * timingSafeEqual takes the same time wherever they differ.
 */
export function adminAccessHook(tokenHash: string | null) {
  const expected = tokenHash === null ? null : Buffer.from(tokenHash.slice(HASH_PREFIX.length), 'hex')
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (expected === null) {
      if (isLocalClient(request)) return
      return reply.code(403).send({
        error:
          'without an admin token the admin API can be used only from this machine (127.0.0.1, ::1), not through a proxy: ' +
          'set CSB_RELAY_ADMIN_TOKEN (or start with --new-admin-token) to use it remotely'
      })
    }
    const given = BEARER.exec(request.headers.authorization ?? '')?.[1]
    const digest = createHash('sha256').update(given ?? '', 'utf8').digest()
    if (given === undefined || !timingSafeEqual(digest, expected)) {
      reply.code(401).header('www-authenticate', 'Bearer realm="csb-relay admin"')
      return reply.send({
        error: 'admin token required: send Authorization: Bearer <token> (CSB_RELAY_ADMIN_TOKEN, or the token the relay printed when it made one)'
      })
    }
  }
}
