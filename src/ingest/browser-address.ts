/**
 * Where a browser reaches the relay: the address analytics.js is told to send to. The
 * configured public URL when there is one (a relay behind a proxy or a CDN under another name,
 * perhaps under a path); else the `Host` and scheme of the request itself, which fastify takes
 * from `X-Forwarded-Host` / `X-Forwarded-Proto` when the relay's `trustProxy` setting is on.
 */
export interface BrowserAddress {
  protocol: 'http' | 'https'
  /** `host[:port]`, followed by the public URL's path when it has one; no trailing slash. */
  host: string
}

/** What is read of a request (fastify's `request.host` and `request.protocol`). */
export interface RequestAddress {
  host: string
  protocol: string
}

export function browserAddress(request: RequestAddress, publicUrl?: string): BrowserAddress {
  if (publicUrl) {
    const url = new URL(publicUrl)
    return { protocol: url.protocol === 'https:' ? 'https' : 'http', host: `${url.host}${url.pathname.replace(/\/+$/, '')}` }
  }
  return { protocol: request.protocol === 'https' ? 'https' : 'http', host: request.host }
}

/** The base URL of analytics.js's files and settings on the relay, e.g. `https://relay.example.com`. */
export function baseUrlOf(address: BrowserAddress): string {
  return `${address.protocol}://${address.host}`
}
