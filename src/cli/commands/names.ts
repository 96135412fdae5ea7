/**
 * `csb-relay names`: the feature and module names a running relay has sent to CSB, which keeps at
 * most 256 of each per instance, beside the relay's limits (docs/delivery.md, "Distinct features
 * and modules"), through its admin API.
 */
import { adminRequest } from '../client'
import type { NamesReport } from '../../ops/admin'
import { adminTarget, commandArgs, talkingToRelay } from '../args'

const HELP = `Usage: csb-relay names [--json] [--url URL] [--token TOKEN]

CustomerSuccessBox keeps at most 256 distinct features and 256 distinct modules per instance. The
relay counts the names it sends and dead-letters an event that would send a new one past
delivery.maxDistinctFeatures / delivery.maxDistinctModules. This lists the names sent so far, in
the order first sent, with the count and the limit of each kind.

Options:
  --json           as JSON
  --url URL        the relay (default http://127.0.0.1:8080, or http://$HOST:$PORT)
  --token TOKEN    admin token (default $CSB_RELAY_ADMIN_TOKEN)
  -h, --help       this help`

const SETTING: Record<string, string> = { feature: 'delivery.maxDistinctFeatures', module: 'delivery.maxDistinctModules' }

export async function run(argv: string[]): Promise<number> {
  const parsed = commandArgs('names', argv, { json: { type: 'boolean', default: false }, url: { type: 'string' }, token: { type: 'string' } }, HELP)
  if (typeof parsed === 'number') return parsed
  const { values } = parsed
  return talkingToRelay('names', async () => {
    const report = await adminRequest<NamesReport>(adminTarget(values), 'GET', '/names')
    if (values.json) {
      console.log(JSON.stringify(report, null, 2))
      return 0
    }
    for (const [kind, { count, limit, names }] of Object.entries(report)) {
      const of = limit > 0 ? `${count} of ${limit} (${SETTING[kind] ?? 'limit'})` : `${count} (no limit)`
      const full = limit > 0 && count >= limit ? '; full: new names are dead-lettered' : ''
      console.log(`${kind}s sent to CSB: ${of}${full}`)
      for (const name of names) console.log(`  ${name}`)
    }
    return 0
  })
}
