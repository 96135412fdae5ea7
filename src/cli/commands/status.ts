/**
 * `csb-relay status`: backlog, rates and recent errors of a running relay (its admin API).
 */
import { adminTarget, commandArgs, talkingToRelay } from '../args'
import { adminRequest } from '../client'
import type { Overview } from '../../ops/overview'

const HELP = `Usage: csb-relay status [--destination NAME] [--url URL] [--token TOKEN] [--period 1h|24h|7d] [--json]

Shows a running relay's backlog, delivery rates, end-to-end latency and recent errors
with a suggested fix for each, and each destination's backlog and dead letters.

Options:
  --url URL        the relay (default http://127.0.0.1:8080, or http://$HOST:$PORT)
  --token TOKEN    admin token (default $CSB_RELAY_ADMIN_TOKEN)
  --destination NAME  figures of that destination alone (CustomerSuccessBox or a name from
                   "destinations"; default: every destination's added up)
  --period P       window for counts and rates: 60m, 1h, 24h, 7d (default 1h)
  --json           print the admin API's answer as JSON
  -h, --help       this help`

const n = (v: number) => v.toLocaleString('en-US')

function duration(ms: number | null): string {
  if (ms === null) return '–'
  if (ms < 1000) return `${ms} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`
  return `${(ms / 3_600_000).toFixed(1)} h`
}

export function formatStatus(url: string, o: Overview): string {
  const lines: string[] = []
  lines.push(`csb-relay at ${url} (${o.engine} store), last ${o.period}${o.destination ? `, destination ${o.destination}` : ''}`)
  const oldest = o.backlog.oldestWaitingSeconds === null ? 'nothing waiting' : `oldest waiting ${duration(o.backlog.oldestWaitingSeconds * 1000)}`
  // Admitted events (not yet queued) are named only when there are some: during an ingest burst.
  const admitted = o.backlog.admitted ? `admitted ${n(o.backlog.admitted)}, ` : ''
  lines.push(`Backlog:   ${n(o.backlog.total)} (${admitted}pending ${n(o.backlog.pending)}, retrying ${n(o.backlog.retrying)}, in flight ${n(o.backlog.inFlight)}); ${oldest}`)
  const t = o.totals
  const r = o.perMinute
  lines.push(`Received:  ${n(t.ingested)} (${r.ingested}/min)`)
  lines.push(`Delivered: ${n(t.delivered)} (${r.delivered}/min)   retries: ${n(t.retrying)}   dead-lettered: ${n(t.dead)}   skipped: ${n(t.skipped)}`)
  const success = o.successRate === null ? '–' : `${(o.successRate * 100).toFixed(1)}%`
  lines.push(`Latency:   p95 ${duration(o.latency.p95Ms)}, p50 ${duration(o.latency.p50Ms)}   success rate: ${success}`)
  lines.push(`Dead letters stored: ${n(o.stored.dead)}`)
  // Named only when some were: a user suppression is rare, and the line says what it means.
  if (o.suppressedEvents) lines.push(`Suppressed: ${n(o.suppressedEvents)} event(s) of suppressed users answered and dropped (since the store was created; csb-relay regulate list)`)
  // One line per destination when there are several: each is delivered to on its own.
  const destinations = o.destinations ?? []
  if (destinations.length > 1 && !o.destination) {
    lines.push('Destinations:')
    const width = Math.max(...destinations.map((d) => d.name.length))
    for (const d of destinations) {
      const age = d.backlog.oldestWaitingSeconds === null ? '' : `, oldest ${duration(d.backlog.oldestWaitingSeconds * 1000)}`
      lines.push(
        `  ${d.name.padEnd(width)}  backlog ${n(d.backlog.total)} (retrying ${n(d.backlog.retrying)}${age})   delivered ${n(d.stored.delivered)}   dead ${n(d.stored.dead)}   skipped ${n(d.stored.skipped)}`
      )
    }
  }
  if (o.reasons.length === 0) {
    lines.push('Recent errors and skips: none')
  } else {
    lines.push('Recent errors and skips:')
    for (const reason of o.reasons.slice(0, 10)) {
      const where = destinations.length > 1 && !o.destination && reason.destination ? `[${reason.destination}] ` : ''
      lines.push(`  ${reason.status.padEnd(8)} ${String(reason.count).padStart(6)}  ${where}${reason.reason}`)
      lines.push(`  ${''.padEnd(8)} ${''.padStart(6)}  fix: ${reason.fix}`)
    }
    if (o.reasons.length > 10) lines.push(`  … and ${o.reasons.length - 10} more reasons (see the dashboard)`)
  }
  return lines.join('\n')
}

export async function run(argv: string[]): Promise<number> {
  const parsed = commandArgs('status', argv, {
    url: { type: 'string' },
    token: { type: 'string' },
    period: { type: 'string', default: '1h' },
    destination: { type: 'string' },
    json: { type: 'boolean', default: false }
  }, HELP)
  if (typeof parsed === 'number') return parsed
  const { values } = parsed
  const target = adminTarget(values)
  return talkingToRelay('status', async () => {
    const q = new URLSearchParams({ period: values.period! })
    if (values.destination) q.set('destination', values.destination)
    const overview = await adminRequest<Overview>(target, 'GET', `/overview?${q}`)
    console.log(values.json ? JSON.stringify(overview, null, 2) : formatStatus(target.url, overview))
    return 0
  })
}
