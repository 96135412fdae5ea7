/**
 * `csb-relay regulate`: user suppression and deletion (regulations, docs/privacy.md) on a running
 * relay, through its admin API (`/api/regulations`): create one, wait for it, list, show.
 */
import fs from 'node:fs'
import { adminRequest, table, type RelayTarget } from '../client'
import { adminTarget, commandArgs, talkingToRelay } from '../args'
// The routes' module, not ops' index: a command loads no server code.
import { MAX_SUBJECT_IDS, ORIGIN_HEADER, REGULATION_TYPES, type RegulationView } from '../../ops/admin-regulations'

const WAIT_POLL_MS = 500
/**
 * How long --wait follows regulations by default: a deletion on a large SQLite store takes
 * seconds (its VACUUM), one handed to slow destinations longer; a relay that stopped running
 * them should not hang a script for ever.
 */
const DEFAULT_WAIT_S = 300
/** --wait gave up while a regulation was still RUNNING (1 is FAILED, 2 a usage error). */
export const EXIT_STILL_RUNNING = 3

const HELP = `Usage:
  csb-relay regulate --type TYPE USER_ID...     regulate these users (by userId)
  csb-relay regulate --type TYPE --file FILE    userIds from FILE, one a line ("-": standard input)
  csb-relay regulate list [--status S] [--limit N] [--json]
  csb-relay regulate show ID [--json]          (an ID starting with "-": show -- ID)

Types (Segment's regulations):
  SUPPRESS_ONLY          drop the users' new events (answered 200, never stored or delivered)
  UNSUPPRESS             lift a suppression: their new events flow again
  SUPPRESS_WITH_DELETE   suppress, then delete everything the relay stores about them
  DELETE_ONLY            delete everything the relay stores about them (new events still flow)
A deletion is also handed to every destination whose definition implements onDelete
(CustomerSuccessBox has none: CSB publishes no delete endpoint). See docs/privacy.md.

A regulation runs in the background; --wait follows it until it is FINISHED (exit 0) or
FAILED (exit 1), or until --timeout runs out (exit 3; the regulation goes on). More than
${MAX_SUBJECT_IDS} userIds make several regulations.

Options:
  --type TYPE      one of ${REGULATION_TYPES.join(', ')}
  --file FILE      read userIds from FILE (blank lines skipped), "-" for standard input
  --wait           wait until every regulation made is FINISHED or FAILED
  --timeout S      with --wait: give up waiting after S seconds (default ${DEFAULT_WAIT_S}; 0: no limit)
  --status S       list only RUNNING, FINISHED or FAILED ones
  --limit N        list at most N (default 50, at most 500)
  --json           print the admin API's answer as JSON
  --url URL        the relay (default http://127.0.0.1:8080, or http://$HOST:$PORT)
  --token TOKEN    admin token (default $CSB_RELAY_ADMIN_TOKEN)
  -h, --help       this help`


const COUNT_LABELS: Array<[keyof RegulationView['counts'], string]> = [
  ['suppressed', 'users suppressed'],
  ['unsuppressed', 'users unsuppressed'],
  ['events', 'stored events deleted'],
  ['admittedEvents', 'admitted (not yet queued) events deleted'],
  ['identityLinks', 'identity-map links deleted'],
  ['destinationDeletes', 'deletions handed to destinations'],
  ['destinationDeleteFailures', 'deletions destinations failed']
]

const when = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 19) : '–')

export function formatRegulation(r: RegulationView): string {
  const lines = [
    `Regulation ${r.id}: ${r.regulationType} of ${r.subjectCount} user(s), ${r.status}`,
    `  origin ${r.origin}; created ${when(r.createdAt)} UTC${r.finishedAt ? `, finished ${when(r.finishedAt)} UTC` : ''}`
  ]
  for (const [key, label] of COUNT_LABELS) if (r.counts[key]) lines.push(`  ${label}: ${r.counts[key]}`)
  if (r.error) lines.push(`  reason: ${r.error}`)
  if (r.subjectIds) {
    const shown = r.subjectIds.slice(0, 10).join(', ')
    lines.push(`  userIds: ${shown}${r.subjectIds.length > 10 ? `, … (${r.subjectIds.length - 10} more; --json lists them)` : ''}`)
  }
  return lines.join('\n')
}

/** userIds from the arguments, or from a file (or standard input): one a line, blank lines skipped; each once. */
function readIds(file: string | undefined, args: string[]): string[] | string {
  if (file !== undefined && args.length > 0) return 'give userIds as arguments or with --file, not both'
  if (file === undefined) return [...new Set(args)]
  let text: string
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8')
  } catch (err) {
    return `cannot read ${file === '-' ? 'standard input' : file}: ${(err as Error).message}`
  }
  return [...new Set(text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== ''))]
}

/** `show`'s argument as a command line takes it: an id starting with "-" (the relay makes none; an earlier version's store may hold some) after `--`. */
export const showArgs = (id: string): string => (id.startsWith('-') ? `-- ${id}` : id)

function typeOf(value: string): string | null {
  const type = value.toUpperCase().replace(/-/g, '_')
  return (REGULATION_TYPES as readonly string[]).includes(type) ? type : null
}

async function show(target: RelayTarget, id: string): Promise<RegulationView> {
  const { data } = await adminRequest<{ data: { regulation: RegulationView } }>(target, 'GET', `/regulations/${encodeURIComponent(id)}`)
  return data.regulation
}

/** `timeoutS` applies to --wait: 0 waits for ever. */
async function create(target: RelayTarget, type: string, ids: string[], wait: boolean, timeoutS: number, json: boolean): Promise<number> {
  const made: string[] = []
  for (let i = 0; i < ids.length; i += MAX_SUBJECT_IDS) {
    const body = { regulationType: type, subjectType: 'USER_ID', subjectIds: ids.slice(i, i + MAX_SUBJECT_IDS) }
    const { regulateId } = await adminRequest<{ regulateId: string }>(target, 'POST', '/regulations', body, { [ORIGIN_HEADER]: 'cli' })
    made.push(regulateId)
    if (!json) console.log(`Regulation ${regulateId} created: ${type} of ${body.subjectIds.length} user(s).`)
  }
  if (!wait) {
    if (json) console.log(JSON.stringify({ regulateIds: made }))
    else console.log(`It runs in the background; follow it: csb-relay regulate show ${showArgs(made[0]!)}${made.length > 1 ? ' (and the others)' : ''}`)
    return 0
  }
  const deadline = timeoutS > 0 ? Date.now() + timeoutS * 1000 : Infinity
  const finished: RegulationView[] = []
  for (const id of made) {
    for (;;) {
      const regulation = await show(target, id)
      if (regulation.status !== 'RUNNING') {
        finished.push(regulation)
        break
      }
      if (Date.now() >= deadline) {
        const running = made.slice(made.indexOf(id))
        if (json) console.log(JSON.stringify({ finished, running }, null, 2))
        else {
          if (finished.length > 0) console.log(finished.map(formatRegulation).join('\n'))
          console.error(
            `csb-relay regulate: ${running.length} regulation(s) still RUNNING after ${timeoutS} s (--timeout); they go on in the background.\n` +
              `Follow them with: csb-relay regulate show ${showArgs(running[0]!)}${running.length > 1 ? ' (and the others)' : ''}, or wait longer with --timeout.`
          )
        }
        return EXIT_STILL_RUNNING
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(WAIT_POLL_MS, deadline - Date.now()))))
    }
  }
  console.log(json ? JSON.stringify(finished, null, 2) : finished.map(formatRegulation).join('\n'))
  return finished.some((r) => r.status === 'FAILED') ? 1 : 0
}

async function list(target: RelayTarget, status: string | undefined, limit: string, json: boolean): Promise<number> {
  const q = new URLSearchParams({ limit })
  if (status) q.set('status', status)
  const { data } = await adminRequest<{ data: { regulations: RegulationView[] } }>(target, 'GET', `/regulations?${q}`)
  if (json) {
    console.log(JSON.stringify(data.regulations, null, 2))
    return 0
  }
  if (data.regulations.length === 0) {
    console.log(status ? `No ${status} regulations.` : 'No regulations.')
    return 0
  }
  const rows = data.regulations.map((r) => [
    r.id, when(r.createdAt), r.regulationType, String(r.subjectCount), r.status, r.origin, r.error ?? ''
  ])
  console.log(table(['ID', 'CREATED (UTC)', 'TYPE', 'USERS', 'STATUS', 'ORIGIN', 'REASON'], rows, [40, 19, 20, 6, 8, 6, 100]))
  return 0
}

export async function run(argv: string[]): Promise<number> {
  const parsed = commandArgs('regulate', argv, {
    type: { type: 'string' },
    file: { type: 'string' },
    wait: { type: 'boolean', default: false },
    timeout: { type: 'string', default: String(DEFAULT_WAIT_S) },
    status: { type: 'string' },
    limit: { type: 'string', default: '50' },
    json: { type: 'boolean', default: false },
    url: { type: 'string' },
    token: { type: 'string' }
  }, HELP, true)
  if (typeof parsed === 'number') return parsed
  const { values, positionals } = parsed
  const usage = (message: string) => {
    console.error(`csb-relay regulate: ${message}\n\n${HELP}`)
    return 2
  }
  const target = adminTarget(values)

  if (values.type !== undefined) {
    const type = typeOf(values.type)
    if (!type) return usage(`--type must be one of ${REGULATION_TYPES.join(', ')}; got "${values.type}"`)
    const ids = readIds(values.file, positionals)
    if (typeof ids === 'string') return usage(ids)
    if (ids.length === 0) return usage('no userIds: give them as arguments, or with --file FILE (one a line)')
    if (!/^\d+$/.test(values.timeout!)) return usage(`--timeout must be a whole number of seconds (0: no limit); got "${values.timeout}"`)
    return talkingToRelay('regulate', () => create(target, type, ids, values.wait!, Number(values.timeout), values.json!))
  }

  const [sub, ...rest] = positionals
  if (sub === 'list') {
    if (rest.length > 0) return usage(`unexpected argument "${rest[0]}"`)
    if (!/^\d+$/.test(values.limit!) || Number(values.limit) < 1 || Number(values.limit) > 500) return usage('--limit must be a whole number from 1 to 500')
    const status = values.status?.toUpperCase()
    if (status !== undefined && !['RUNNING', 'FINISHED', 'FAILED'].includes(status)) return usage(`--status must be RUNNING, FINISHED or FAILED; got "${values.status}"`)
    return talkingToRelay('regulate', () => list(target, status, values.limit!, values.json!))
  }
  if (sub === 'show') {
    if (rest.length !== 1) return usage('show takes one regulation id')
    return talkingToRelay('regulate', async () => {
      const regulation = await show(target, rest[0]!)
      console.log(values.json ? JSON.stringify(regulation, null, 2) : formatRegulation(regulation))
      return 0
    })
  }
  if (sub === undefined) return usage('say what to do: --type TYPE USER_ID..., list, or show ID')
  return usage(`unknown subcommand "${sub}"; to regulate users give --type TYPE before their userIds`)
}
