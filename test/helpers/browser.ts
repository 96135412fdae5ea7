/**
 * Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, with a fresh
 * profile, no background traffic, and every request to anything but 127.0.0.1 refused.
 */
import { chromium, type BrowserContext } from 'playwright-core'
import fs from 'node:fs'
import { tempDir } from './temp'

export const CHROMIUM = '/usr/bin/chromium'

export function hasChromium(): boolean {
  return fs.existsSync(CHROMIUM)
}

/** `ignoreHTTPSErrors`: accept self-signed certificates (a loopback TLS server in a test). */
export async function launchBrowser(options: { ignoreHTTPSErrors?: boolean } = {}): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(tempDir('csb-relay-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'
    ]
  })
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url())
    if (url.hostname === '127.0.0.1') return route.continue()
    return route.abort('blockedbyclient')
  })
  return context
}
