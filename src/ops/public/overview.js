// @ts-check
/** The overview: outcome cards, backlog, latency, success rate, the chart and errors by reason. */
import { getOverview } from './api.js'
import { drawChart } from './chart.js'
import { byId, byTestId, el, field, pill } from './dom.js'
import { age, count, duration, when } from './format.js'
import { loadEvents, replay, setStatus } from './events.js'
import { state } from './state.js'

/** @typedef {import('./api.js').Outcome} Outcome */
/** @typedef {import('./api.js').Reason} Reason */
/** @typedef {import('./api.js').DestinationRow} DestinationRow */

/** @type {Outcome[]} */
const CARDS = ['delivered', 'retrying', 'dead', 'skipped', 'ingested']

export function loadOverview() {
  return getOverview(state.period, state.destination).then((o) => {
    for (const k of CARDS) {
      byTestId(`count-${k}`).textContent = count(o.totals[k])
      byTestId(`rate-${k}`).textContent = `${o.perMinute[k]} / min`
    }
    byId('period-label').textContent = `last ${o.period}`
    byTestId('backlog').textContent = count(o.backlog.total)
    byTestId('oldest').textContent =
      o.backlog.oldestWaitingSeconds == null ? 'nothing waiting' : `oldest waiting ${age(o.backlog.oldestWaitingSeconds)} · ${count(o.backlog.retrying)} retrying`
    byTestId('p95').textContent = duration(o.latency.p95Ms)
    byTestId('p50').textContent = `p50 ${duration(o.latency.p50Ms)}`
    byTestId('success-rate').textContent = o.successRate == null ? '–' : `${(o.successRate * 100).toFixed(1)} %`
    byTestId('suppressed').textContent = count(o.suppressedEvents)
    drawChart(chart(), byId('legend'), o.series, o.bucketSeconds)
    drawReasons(o.reasons)
    byTestId('retention').textContent = o.retention ?? ''
    drawDestinations(o.destinations || [])
    byId('updated').textContent = `updated ${new Date().toLocaleTimeString()}`
  })
}

function chart() {
  const svg = byId('chart')
  if (!(svg instanceof SVGSVGElement)) throw new Error('#chart is not an SVG element')
  return svg
}

/** @param {Reason[]} reasons */
function drawReasons(reasons) {
  const body = byId('reasons-body')
  body.textContent = ''
  byId('reasons-empty').hidden = reasons.length > 0
  for (const r of reasons) {
    const show = el('button', { text: 'Show events' })
    show.addEventListener('click', () => {
      setStatus(r.status)
      field('reason-filter').value = r.reason
      state.reason = r.reason
      loadEvents(true)
    })
    const actions = el('td', {}, [show])
    if (r.status === 'dead') {
      const replayAll = el('button', { class: 'danger', text: 'Replay', 'data-testid': 'replay-reason' })
      replayAll.addEventListener('click', () =>
        replay({ reason: r.reason, destination: r.destination }, `Replay ${r.count} dead letters of ${r.destination} with reason "${r.reason}"?`)
      )
      actions.append(' ', replayAll)
    }
    const cells = [
      el('td', {}, [el('code', { text: r.reason })]),
      el('td', { text: r.destination || '' }),
      el('td', {}, [pill(r.status)]),
      el('td', { text: count(r.count) }),
      el('td', { text: when(r.lastAt) }),
      el('td', { class: 'fix', text: r.fix }),
      actions
    ]
    body.appendChild(el('tr', {}, cells))
  }
}

/**
 * One row per destination and the selector's choices; both stay hidden while CSB is the only
 * destination. Choosing one narrows the cards, chart, reasons, events and bulk replays to it.
 * @param {DestinationRow[]} rows
 */
function drawDestinations(rows) {
  const several = rows.length > 1
  byId('destinations').hidden = !several
  byId('destination').hidden = !several
  byId('destination-label').hidden = !several
  const select = byId('destination')
  if (!(select instanceof HTMLSelectElement)) throw new Error('#destination is not a select element')
  const names = rows.map((d) => d.name)
  const shown = [...select.options].map((o) => o.value).filter((v) => v !== '')
  if (shown.join('\n') !== names.join('\n')) {
    select.textContent = ''
    select.append(el('option', { value: '', text: 'All destinations' }), ...names.map((n) => el('option', { value: n, text: n })))
    select.value = state.destination
  }
  const body = byId('destinations-body')
  body.textContent = ''
  for (const d of rows) {
    const pick = el('button', { text: state.destination === d.name ? 'Shown' : 'Show', 'data-testid': 'pick-destination' })
    pick.addEventListener('click', () => chooseDestination(d.name))
    const cells = [
      el('td', { text: d.name }),
      el('td', { text: count(d.backlog.total) }),
      el('td', { text: count(d.backlog.retrying) }),
      el('td', { text: d.backlog.oldestWaitingSeconds == null ? '–' : age(d.backlog.oldestWaitingSeconds) }),
      el('td', { text: count(d.stored.delivered) }),
      el('td', { text: count(d.stored.dead) }),
      el('td', { text: count(d.stored.skipped) }),
      el('td', {}, [pick])
    ]
    body.appendChild(el('tr', { 'data-destination': d.name, class: state.destination === d.name ? 'on' : '' }, cells))
  }
}

/** Shows one destination ('' for all) everywhere on the page. @param {string} name */
export function chooseDestination(name) {
  state.destination = name
  const select = byId('destination')
  if (select instanceof HTMLSelectElement) select.value = name
  return Promise.all([loadOverview(), loadEvents(true)])
}
