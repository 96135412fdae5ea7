// @ts-check
/** The events list (filtered by state and reason, paged back), one event's samples, and replay. */
import { getEvent, getEvents, replayEvents } from './api.js'
import { all, byId, el, field, pill } from './dom.js'
import { pretty, when } from './format.js'
import { notice, refreshSoon, showError, state } from './state.js'

/** @typedef {import('./api.js').EventSummary} EventSummary */
/** @typedef {import('./api.js').ReplayFilter} ReplayFilter */

const PAGE_SIZE = 50

/** Selects a state filter button; the bulk replay buttons show on "Dead letters" only. @param {string} status */
export function setStatus(status) {
  state.status = status
  for (const b of all('#status-filter button')) b.classList.toggle('on', b.getAttribute('data-status') === status)
  byId('dlq-actions').hidden = status !== 'dead'
}

/** @param {boolean} reset start again from the newest event */
export function loadEvents(reset) {
  if (reset) {
    state.beforeId = null
    state.paged = false
  }
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) })
  if (state.status) query.set('status', state.status)
  if (state.reason) query.set('reason', state.reason)
  if (state.beforeId) query.set('beforeId', state.beforeId)
  if (state.destination) query.set('destination', state.destination)
  return getEvents(query).then((page) => {
    const body = byId('events-body')
    if (!state.beforeId) body.textContent = ''
    for (const e of page.events) body.appendChild(eventRow(e))
    byId('events-empty').hidden = body.children.length > 0
    state.beforeId = page.nextBeforeId
    byId('more-events').hidden = !page.nextBeforeId
  })
}

/** @param {EventSummary} e */
function eventRow(e) {
  const actions = el('td', {}, [el('button', { text: 'Samples', 'data-testid': 'open-event' })])
  if (e.status === 'dead') {
    const replayOne = el('button', { class: 'danger', text: 'Replay', 'data-testid': 'replay-one' })
    replayOne.addEventListener('click', (ev) => {
      ev.stopPropagation()
      replay({ ids: [e.id] })
    })
    actions.append(' ', replayOne)
  }
  const cells = [
    el('td', { text: when(e.receivedAt) }),
    el('td', { text: e.destination || '' }),
    el('td', { text: e.type }),
    el('td', {}, [e.name ? el('div', { text: e.name }) : null, el('div', { class: 'muted', text: e.userId == null ? '' : String(e.userId) })]),
    el('td', {}, [pill(e.status)]),
    el('td', { text: e.action || '' }),
    el('td', { text: e.lastStatus == null ? '' : String(e.lastStatus) }),
    el('td', { text: String(e.attempts) }),
    el('td', {}, [e.lastError ? el('code', { text: e.lastError }) : null, e.fix ? el('div', { class: 'fix', text: e.fix }) : null]),
    actions
  ]
  const row = el('tr', { class: 'clickable', 'data-event-id': e.id, 'data-status': e.status }, cells)
  row.addEventListener('click', () => openEvent(e.id))
  return row
}

/** Opens (or, quietly, refreshes) the event's panel with its three samples. @param {string} id @param {boolean} [quiet] */
export function openEvent(id, quiet) {
  state.detailId = id
  return getEvent(id)
    .then((e) => {
      byId('detail').hidden = false
      byId('detail-id').textContent = e.id
      const status = byId('detail-status')
      status.textContent = ''
      status.appendChild(pill(e.status))
      status.setAttribute('data-status', e.status)
      byId('detail-meta').textContent =
        `${e.type}${e.name ? ` "${e.name}"` : ''} · messageId ${e.messageId} · source ${e.source} · received ${when(e.receivedAt)}` +
        `${e.finishedAt ? ` · finished ${when(e.finishedAt)}` : ''} · attempts ${e.attempts}${e.action ? ` · action ${e.action}` : ''}${e.lastError ? ` · ${e.lastError}` : ''}`
      byId('detail-fix').textContent = e.fix ? `Suggested fix: ${e.fix}` : ''
      byId('sample-received').textContent = pretty(e.samples.received)
      byId('sample-request').textContent = e.samples.request == null ? '(nothing sent yet)' : pretty(e.samples.request)
      byId('sample-response').textContent = e.samples.response == null ? '(no response yet)' : pretty(e.samples.response)
      const replayButton = byId('detail-replay')
      replayButton.hidden = e.status !== 'dead'
      replayButton.onclick = () => replay({ ids: [e.id] })
      if (!quiet) byId('detail').scrollIntoView({ behavior: 'auto', block: 'start' })
    })
    .catch(showError)
}

/** @param {ReplayFilter} filter @param {string} [question] asked first when the replay may touch many events */
export function replay(filter, question) {
  if (question && !window.confirm(question)) return
  // A bulk replay covers the destination on show only; an id names its destination's row already.
  replayEvents(state.destination && !filter.ids ? { ...filter, destination: state.destination } : filter)
    .then((r) => {
      notice('')
      byId('updated').textContent = `replayed ${r.replayed} event(s)`
      refreshSoon()
    })
    .catch(showError)
}

/** Wires the list's filter, paging and replay buttons and the panel's close button. */
export function setUpEvents() {
  for (const b of all('#status-filter button')) {
    b.addEventListener('click', () => {
      setStatus(b.getAttribute('data-status') || '')
      loadEvents(true).catch(showError)
    })
  }
  byId('apply-filter').addEventListener('click', () => {
    state.reason = field('reason-filter').value.trim()
    loadEvents(true).catch(showError)
  })
  byId('more-events').addEventListener('click', () => {
    state.paged = true
    loadEvents(false).catch(showError)
  })
  byId('replay-all').addEventListener('click', () =>
    replay({ all: true }, state.destination ? `Replay every dead letter of ${state.destination}?` : 'Replay every dead letter?')
  )
  byId('replay-filtered').addEventListener('click', () => {
    const reason = field('reason-filter').value.trim()
    if (!reason) {
      notice('Type part of a reason in the filter box first.')
      return
    }
    replay({ reason }, `Replay dead letters whose reason contains "${reason}"?`)
  })
  byId('detail-close').addEventListener('click', () => {
    state.detailId = null
    byId('detail').hidden = true
  })
}
