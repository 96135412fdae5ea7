// @ts-check
/**
 * "Browser: analytics.js from this relay": per source, Segment's snippet for the relay's public
 * URL, and the CSP entries a page needs. The admin API never gives out write keys, so each
 * snippet holds a placeholder; a key typed into the box replaces it here, in this page only
 * (nothing typed is sent anywhere).
 */
import { getBrowserSetup } from './api.js'
import { byId, el, field } from './dom.js'

/** @typedef {import('./api.js').BrowserSetup} BrowserSetup */

/** @type {BrowserSetup | null} */
let setup = null

export function setUpBrowser() {
  field('browser-write-key').addEventListener('input', render)
}

export function loadBrowser() {
  return getBrowserSetup().then((s) => {
    setup = s
    render()
  })
}

/** The snippet as pasted into a page: inside a script tag, the key in place when one was typed. */
function pasteable(/** @type {{ snippet: string, writeKeyPlaceholder: string }} */ source, /** @type {string} */ key) {
  const text = key ? source.snippet.split(source.writeKeyPlaceholder).join(key) : source.snippet
  return `<script>\n${text}\n</script>`
}

function render() {
  if (!setup) return
  const s = setup
  const key = field('browser-write-key').value.trim()
  byId('browser-url').textContent = s.publicUrl
  byId('browser-url-from').textContent =
    s.publicUrlFrom === 'configuration'
      ? '(the publicUrl setting)'
      : '(the address this page was loaded from: set publicUrl or CSB_RELAY_PUBLIC_URL if browsers reach the relay elsewhere)'
  byId('browser-csp').textContent = `script-src ${s.csp['script-src'].join(' ')}\nconnect-src ${s.csp['connect-src'].join(' ')}`
  byId('browser-csp-note').textContent = s.csp.note
  const list = byId('browser-sources')
  list.replaceChildren(
    ...s.sources.map((source) =>
      el('div', { class: 'browser-source', 'data-testid': `browser-source-${source.name}` }, [
        el('b', { text: `Source ${source.name}` }),
        el('span', { class: 'muted', text: key ? '' : ` (its write key goes where ${source.writeKeyPlaceholder} is)` }),
        el('pre', { 'data-testid': `browser-snippet-${source.name}`, text: pasteable(source, key) })
      ])
    )
  )
}
