// @ts-check
/** The newest regulations (user suppression and deletion, docs/privacy.md); hidden while there are none. */
import { getRegulations } from './api.js'
import { byId, el } from './dom.js'
import { count, when } from './format.js'

/** What a regulation did, in a few words. @param {Record<string, number>} c */
function done(c) {
  const parts = [
    c.suppressed ? `${count(c.suppressed)} suppressed` : '',
    c.unsuppressed ? `${count(c.unsuppressed)} unsuppressed` : '',
    c.events || c.admittedEvents ? `${count(c.events + c.admittedEvents)} events deleted` : '',
    c.destinationDeletes ? `${count(c.destinationDeletes)} sent to destinations` : '',
    c.destinationDeleteFailures ? `${count(c.destinationDeleteFailures)} refused` : ''
  ]
  return parts.filter(Boolean).join(', ')
}

export function loadRegulations() {
  return getRegulations().then(({ data }) => {
    const rows = data.regulations
    byId('regulations').hidden = rows.length === 0
    const body = byId('regulations-body')
    body.textContent = ''
    for (const r of rows) {
      const cells = [
        el('td', { text: when(r.createdAt) }),
        el('td', {}, [el('code', { text: r.regulationType })]),
        el('td', { text: count(r.subjectCount) }),
        el('td', { text: r.status, class: r.status === 'FAILED' ? 'bad' : r.status === 'FINISHED' ? 'ok' : '' }),
        el('td', { text: r.origin }),
        el('td', { text: done(r.counts) }),
        el('td', { text: r.error || '' })
      ]
      body.appendChild(el('tr', { 'data-regulation': r.id }, cells))
    }
  })
}
