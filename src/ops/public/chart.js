// @ts-check
/** The overview chart: each outcome per time bucket as an SVG line, with its legend. */
import { el } from './dom.js'
import { count, duration } from './format.js'

/** @typedef {import('./api.js').Outcome} Outcome */
/** @typedef {import('./api.js').SeriesPoint} SeriesPoint */

const SVG_NS = 'http://www.w3.org/2000/svg'
/** @type {Record<Outcome, string>} */
const COLORS = { delivered: '#1a9c5b', retrying: '#d98b0b', dead: '#d64545', skipped: '#7a7f8f', ingested: '#3b6fd8' }
/** @type {Record<Outcome, string>} */
const NAMES = { ingested: 'Received', delivered: 'Delivered', retrying: 'Retries', dead: 'Dead-lettered', skipped: 'Skipped' }
/** Drawing order: received first, so the outcomes are drawn over it. @type {Outcome[]} */
const KEYS = ['ingested', 'delivered', 'retrying', 'dead', 'skipped']
const HEIGHT = 220
const MIN_WIDTH = 300
const FALLBACK_WIDTH = 900
const PAD = { left: 44, right: 10, top: 10, bottom: 26 }
/** The y axis goes at least this high, so a handful of events does not fill the chart. */
const MIN_TOP = 4
const GRID_LINES = 4

/**
 * @param {SVGSVGElement} svg
 * @param {HTMLElement} legend
 * @param {SeriesPoint[]} series
 * @param {number} bucketSeconds
 */
export function drawChart(svg, legend, series, bucketSeconds) {
  const W = Math.max(MIN_WIDTH, Math.round(svg.getBoundingClientRect().width) || FALLBACK_WIDTH)
  const H = HEIGHT
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`)
  while (svg.firstChild) svg.removeChild(svg.firstChild)
  let max = 0
  for (const p of series) for (const k of KEYS) if (p[k] > max) max = p[k]
  const top = max <= MIN_TOP ? MIN_TOP : niceCeil(max)
  const n = series.length
  const step = (W - PAD.left - PAD.right) / Math.max(1, n - 1)
  /** @param {number} i */
  const x = (i) => PAD.left + i * step
  /** @param {number} v */
  const y = (v) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / top)
  /** @param {string} tag @param {Record<string, string | number>} attrs @param {string} [text] */
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(SVG_NS, tag)
    for (const [name, value] of Object.entries(attrs)) e.setAttribute(name, String(value))
    if (text != null) e.textContent = text
    svg.appendChild(e)
    return e
  }

  for (let g = 0; g <= GRID_LINES; g++) {
    const v = (top * g) / GRID_LINES
    add('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), stroke: '#e3e6ee' })
    add('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, count(Math.round(v)))
  }
  ;[0, Math.floor((n - 1) / 2), n - 1].forEach((i, j) => {
    if (!series[i]) return
    const d = new Date(series[i].at)
    const label = bucketSeconds >= 86400 ? d.toLocaleDateString() : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
    add('text', { x: x(i), y: H - 8, 'text-anchor': j === 0 ? 'start' : j === 2 ? 'end' : 'middle' }, label)
  })
  for (const k of KEYS) {
    const points = series.map((p, i) => `${x(i).toFixed(1)},${y(p[k]).toFixed(1)}`).join(' ')
    const received = k === 'ingested'
    add('polyline', { points, fill: 'none', stroke: COLORS[k], 'stroke-width': received ? 1.5 : 2, 'stroke-dasharray': received ? '4 3' : '', 'data-series': k })
  }
  // One invisible column per bucket whose tooltip gives the bucket's numbers.
  series.forEach((p, i) => {
    const column = add('rect', { x: x(i) - step / 2, y: PAD.top, width: Math.max(step, 2), height: H - PAD.top - PAD.bottom, fill: 'transparent' })
    const title = document.createElementNS(SVG_NS, 'title')
    title.textContent = `${new Date(p.at).toLocaleString()}\n${KEYS.map((k) => `${NAMES[k]}: ${p[k]}`).join('\n')}`
    column.appendChild(title)
  })

  legend.textContent = ''
  for (const k of KEYS) {
    const swatch = el('i')
    // A style property set from script, not a style attribute: the CSP allows the one, not the other.
    swatch.style.background = COLORS[k]
    legend.appendChild(el('span', {}, [swatch, NAMES[k]]))
  }
  legend.appendChild(el('span', { class: 'muted', text: `per ${duration(bucketSeconds * 1000)}` }))
}

/** The next 1, 2 or 5 times a power of ten at or above v. @param {number} v */
function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)))
  const m = v / p
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p
}
