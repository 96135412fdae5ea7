/**
 * What a web page needs to load analytics.js from this relay (ingest serves it; docs/ingest.md,
 * "analytics.js from the relay"): per source, Segment's own snippet (rendered by
 * `@segment/snippet`) pointed at the relay's public URL, and the Content-Security-Policy
 * entries the page needs.
 *
 * The snippet carries a placeholder where the write key goes: write keys never leave the admin
 * API (every answer is scrubbed of them), so the person pastes the key in, or the dashboard
 * fills it in the browser, where it goes no further.
 */
import snippet from '@segment/snippet'
import type { FastifyReply, FastifyRequest } from 'fastify'

export interface BrowserSetup {
  /** The relay's URL as browsers reach it. */
  publicUrl: string
  /** `configuration`: the `publicUrl` setting; `request`: the address this request came to (set publicUrl when that differs). */
  publicUrlFrom: 'configuration' | 'request'
  csp: {
    'script-src': string[]
    'connect-src': string[]
    note: string
  }
  sources: Array<{ name: string; writeKeyPlaceholder: string; snippet: string }>
}

export interface BrowserSetupInput {
  /** The `publicUrl` setting, already checked by the config loader. */
  publicUrl?: string
  /** The address the admin request came to (fastify's request.protocol and request.host). */
  request: { protocol: string; host: string }
  /** Configured source names; none: the relay runs on its generated key, whose source is "default". */
  sourceNames: string[]
}

const GENERATED_SOURCE = 'default'

/** Undefined when neither the setting nor the request gives a usable URL. */
export function browserSetup({ publicUrl, request, sourceNames }: BrowserSetupInput): BrowserSetup | undefined {
  const url = parseUrl(publicUrl ?? `${request.protocol === 'https' ? 'https' : 'http'}://${request.host}`)
  if (!url) return undefined
  const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`
  const names = sourceNames.length > 0 ? sourceNames : [GENERATED_SOURCE]
  return {
    publicUrl: base,
    publicUrlFrom: publicUrl ? 'configuration' : 'request',
    csp: {
      'script-src': [url.origin],
      'connect-src': [url.origin],
      note:
        "script-src also needs the inline snippet allowed: the page's nonce on its <script> tag, or the snippet's sha256 hash " +
        '(computed with the write key in place), or \'unsafe-inline\''
    },
    sources: names.map((name) => {
      const writeKeyPlaceholder = `WRITE_KEY_OF_${name.replace(/[^\w-]/g, '_')}`
      return { name, writeKeyPlaceholder, snippet: snippetFor(base, writeKeyPlaceholder) }
    })
  }
}

/**
 * Segment's minified snippet with its host changed to the relay's. It has no initial
 * `analytics.page()`: CSB attributes a page view to a user and an account, so the page calls it
 * once the user is known. Over http the snippet also sets `analytics._cdn`, because analytics.js
 * derives where its chunks and settings are from the script's URL only over https.
 */
export function snippetFor(base: string, writeKey: string): string {
  const url = new URL(base)
  const host = `${url.host}${url.pathname.replace(/\/+$/, '')}`
  const https = url.protocol === 'https:'
  const text = snippet.min({ apiKey: writeKey, host, page: false, useHostForBundles: !https })
  return https ? text : text.split(`"https://${host}`).join(`"http://${host}`)
}

function parseUrl(text: string): URL | undefined {
  try {
    const url = new URL(text)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined
  } catch {
    return undefined
  }
}

/** `GET /api/browser`: the handler, reading the (redacted) configuration the admin API holds. */
export function browserSetupHandler(config: Record<string, unknown>) {
  const publicUrl = typeof config.publicUrl === 'string' ? config.publicUrl : undefined
  const sources = Array.isArray(config.sources) ? (config.sources as Array<{ name?: unknown }>) : []
  const sourceNames = sources.map((s) => s.name).filter((n): n is string => typeof n === 'string')
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const setup = browserSetup({ publicUrl, request, sourceNames })
    if (!setup) return reply.code(400).send({ error: `this request's Host (${request.host}) is not a usable URL: set "publicUrl" (or CSB_RELAY_PUBLIC_URL) to the relay's URL as browsers reach it` })
    return setup
  }
}
