// @ts-check
/** The event tester: which action an event matches and the exact CSB request, sent on request. */
import { testEvent } from './api.js'
import { byId, field } from './dom.js'
import { pretty } from './format.js'
import { refreshSoon } from './state.js'

/** @typedef {import('./api.js').TesterResult} TesterResult */

export function setUpTester() {
  const sample = {
    type: 'track',
    userId: 'user-42',
    event: 'Report Exported',
    properties: { account_id: 'acme', product_id: 'analytics', module_id: 'reports' },
    timestamp: new Date().toISOString()
  }
  field('tester-input').value = JSON.stringify(sample, null, 2)
  byId('tester-run').addEventListener('click', () => runTester(false))
  byId('tester-send').addEventListener('click', () => runTester(true))
}

/** @param {boolean} send */
function runTester(send) {
  const output = byId('tester-output')
  let event
  try {
    event = JSON.parse(field('tester-input').value)
  } catch (e) {
    output.textContent = `Not valid JSON: ${e instanceof Error ? e.message : String(e)}`
    return
  }
  output.textContent = send ? 'Sending…' : 'Testing…'
  testEvent(event, send)
    .then((r) => {
      output.textContent = `${testerSummary(r.result)}\n\n${pretty(r.result)}`
      if (send) refreshSoon()
    })
    .catch((e) => {
      output.textContent = `Error: ${e instanceof Error ? e.message : String(e)}`
    })
}

/** One line per matching action, shown before the full answer. @param {TesterResult | null | undefined} r */
export function testerSummary(r) {
  if (!r || typeof r !== 'object') return ''
  if (r.deliver === false) return `Nothing would be sent: ${r.skipReason || 'no action matches'}`
  const lines = (r.matches || []).map((m) => {
    const request = m.request ? `${m.request.method} ${m.request.url}` : '(no request)'
    const response = m.response ? ` → ${m.response.status}` : ''
    return `${r.sent ? 'Sent: ' : 'Would send: '}${request}${response} (${m.partnerAction} via "${m.subscription}")${m.error ? ` — ${m.error}` : ''}`
  })
  if (r.filledAccount) lines.push(`account_id filled from the identity map: ${r.filledAccount}`)
  if (r.csbConfigured === false) lines.push('CSB is not configured: nothing can be sent yet.')
  return lines.join('\n')
}
