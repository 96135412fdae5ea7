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

/** @type {Outcome[]} */
const CARDS = ['delivered', 'retrying', 'dead', 'skipped', 'ingested']

export function loadOverview() {
  return getOverview(state.period).then((o) => {
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
    drawChart(chart(), byId('legend'), o.series, o.bucketSeconds)
    drawReasons(o.reasons)
    byTestId('retention').textContent = o.retention ?? ''
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
      replayAll.addEventListener('click', () => replay({ reason: r.reason }, `Replay ${r.count} dead letters with reason "${r.reason}"?`))
      actions.append(' ', replayAll)
    }
    const cells = [
      el('td', {}, [el('code', { text: r.reason })]),
      el('td', {}, [pill(r.status)]),
      el('td', { text: count(r.count) }),
      el('td', { text: when(r.lastAt) }),
      el('td', { class: 'fix', text: r.fix }),
      actions
    ]
    body.appendChild(el('tr', {}, cells))
  }
}
