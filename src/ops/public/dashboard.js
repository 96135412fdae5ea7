// @ts-check
/**
 * The Event Delivery dashboard's entry point: the token dialog, the period, the configuration
 * and CSB check, and refreshing everything (at start, on demand and every few seconds). The
 * page loads nothing from the internet; its CSP allows scripts and styles from the relay only.
 */
import { checkCsb as askCsb, forgetToken, getConfig, hasToken, onTokenNeeded, saveToken } from './api.js'
import { loadBrowser, setUpBrowser } from './browser.js'
import { all, byId, field } from './dom.js'
import { loadEvents, openEvent, setUpEvents } from './events.js'
import { pretty } from './format.js'
import { chooseDestination, loadOverview } from './overview.js'
import { loadRegulations } from './regulations.js'
import { notice, onRefresh, showError, state } from './state.js'
import { setUpTester } from './tester.js'

const LIVE_REFRESH_MS = 5000

/** @param {string} why */
function askToken(why) {
  byId('csb-state').textContent = 'admin token needed'
  byId('token-dialog').hidden = false
  byId('token-error').textContent = why
  field('token-input').focus()
}

function loadConfig() {
  return getConfig().then((c) => {
    byId('config').textContent = pretty(c.config)
  })
}

function checkCsb() {
  const line = byId('csb-check')
  line.textContent = 'CSB connection: checking…'
  return askCsb().then((c) => {
    const text = !c.configured ? 'CSB not configured' : c.ok ? 'CSB answers: key accepted' : `CSB problem: ${c.message}`
    line.textContent = `CSB connection: ${c.message || text}`
    line.className = c.ok ? 'ok' : 'bad'
    const top = byId('csb-state')
    top.textContent = text
    top.className = c.ok ? 'ok' : 'bad'
  })
}

function refreshAll() {
  notice('')
  const jobs = [loadOverview(), loadEvents(true), loadConfig(), loadBrowser(), loadRegulations()]
  if (state.detailId) jobs.push(openEvent(state.detailId, true))
  return Promise.all(jobs).catch(showError)
}

/** The live refresh leaves the events list alone while the user pages through older events. */
function liveRefresh() {
  if (!byId('token-dialog').hidden) return
  const jobs = [loadOverview(), loadRegulations()]
  if (!state.paged) jobs.push(loadEvents(true))
  if (state.detailId) jobs.push(openEvent(state.detailId, true))
  Promise.all(jobs).catch(showError)
}

onTokenNeeded(askToken)
onRefresh(refreshAll)
byId('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault()
  saveToken(field('token-input').value.trim())
  byId('token-dialog').hidden = true
  byId('forget-token').hidden = false
  refreshAll().then(checkCsb).catch(showError)
})
byId('forget-token').addEventListener('click', () => {
  forgetToken()
  location.reload()
})
if (hasToken()) byId('forget-token').hidden = false

setUpEvents()
setUpTester()
setUpBrowser()
byId('csb-recheck').addEventListener('click', () => checkCsb().catch(showError))
byId('destination').addEventListener('change', (ev) => {
  const select = ev.target
  if (select instanceof HTMLSelectElement) chooseDestination(select.value).catch(showError)
})
const periodButtons = all('#periods button')
for (const b of periodButtons) {
  b.addEventListener('click', () => {
    state.period = b.getAttribute('data-period') || state.period
    for (const o of periodButtons) o.classList.toggle('on', o === b)
    refreshAll()
  })
}

refreshAll()
  .then(() => checkCsb())
  .catch(showError)
setInterval(liveRefresh, LIVE_REFRESH_MS)
