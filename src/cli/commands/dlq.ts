/**
 * `csb-relay dlq list` and `csb-relay dlq replay [--all | ID...] [--reason TEXT]`: dead letters
 * of a running relay, through its admin API.
 */
import { adminRequest, table, type RelayTarget } from '../client'
import { adminTarget, commandArgs, talkingToRelay } from '../args'

const HELP = `Usage:
  csb-relay dlq list   [--destination NAME] [--reason TEXT] [--limit N] [--json] [--url URL] [--token TOKEN]
  csb-relay dlq replay ID...           [--url URL] [--token TOKEN]
  csb-relay dlq replay --reason TEXT   replay dead letters whose reason contains TEXT
  csb-relay dlq replay --all           replay every dead letter (with --reason: only those)
  csb-relay dlq replay --all --destination NAME   only that destination's

Dead letters are events a destination (CustomerSuccessBox, or one of "destinations") refused,
or that failed for longer than the retry window. Each destination has its own. Fix the cause (see \`csb-relay status\` or the dashboard), then replay them: they are
delivered again, in order, like new events.

Options:
  --url URL        the relay (default http://127.0.0.1:8080, or http://$HOST:$PORT)
  --token TOKEN    admin token (default $CSB_RELAY_ADMIN_TOKEN)
  --destination NAME  only that destination's dead letters (CustomerSuccessBox or a name
                   from "destinations"; default: every destination's)
  --reason TEXT    only dead letters whose reason contains TEXT
  --limit N        list at most N (default 50, at most 500)
  --json           list as JSON
  -h, --help       this help`

interface EventSummary {
  id: string
  destination: string
  type: string
  name: string | null
  userId: string | null
  action: string | null
  lastStatus: number | null
  attempts: number
  lastError: string | null
  receivedAt: string
  finishedAt: string | null
}

async function list(target: RelayTarget, reason: string | undefined, destination: string | undefined, limit: string, json: boolean): Promise<number> {
  const q = new URLSearchParams({ status: 'dead', limit })
  if (reason) q.set('reason', reason)
  if (destination) q.set('destination', destination)
  const { events } = await adminRequest<{ events: EventSummary[] }>(target, 'GET', `/events?${q}`)
  if (json) {
    console.log(JSON.stringify(events, null, 2))
    return 0
  }
  if (events.length === 0) {
    const of = destination ? ` of ${destination}` : ''
    console.log(reason ? `No dead letters${of} with a reason containing "${reason}".` : `No dead letters${of}.`)
    return 0
  }
  const rows = events.map((e) => [
    e.id,
    e.destination,
    (e.finishedAt ?? e.receivedAt).replace('T', ' ').slice(0, 19),
    e.type,
    [e.name, e.userId].filter((v) => v !== null && v !== undefined).join(' / '),
    e.action ?? '',
    e.lastStatus === null ? '' : String(e.lastStatus),
    String(e.attempts),
    e.lastError ?? ''
  ])
  console.log(table(['ID', 'DESTINATION', 'DEAD SINCE (UTC)', 'TYPE', 'EVENT / USER', 'ACTION', 'HTTP', 'TRIES', 'REASON'], rows, [24, 18, 19, 8, 36, 18, 4, 5, 100]))
  console.log(`\n${events.length} dead letter(s)${events.length === Number(limit) ? ` (first ${limit}; use --limit for more)` : ''}. Replay: csb-relay dlq replay ID... | --reason TEXT | --all`)
  return 0
}

export async function run(argv: string[]): Promise<number> {
  const parsed = commandArgs('dlq', argv, {
    url: { type: 'string' },
    token: { type: 'string' },
    reason: { type: 'string' },
    destination: { type: 'string' },
    all: { type: 'boolean', default: false },
    limit: { type: 'string', default: '50' },
    json: { type: 'boolean', default: false }
  }, HELP, true)
  if (typeof parsed === 'number') return parsed
  const { values, positionals } = parsed
  const [sub, ...ids] = positionals
  if (!sub) {
    console.error(HELP)
    return 2
  }
  const target = adminTarget(values)
  return talkingToRelay('dlq', async () => {
    if (sub === 'list') {
      if (ids.length > 0) {
        console.error(`csb-relay dlq list: unexpected argument "${ids[0]}"\n\n${HELP}`)
        return 2
      }
      if (!/^\d+$/.test(values.limit!) || Number(values.limit) < 1 || Number(values.limit) > 500) {
        console.error('csb-relay dlq list: --limit must be a whole number from 1 to 500')
        return 2
      }
      return await list(target, values.reason, values.destination, values.limit!, values.json!)
    }
    if (sub === 'replay') {
      if (ids.length > 0 && (values.all || values.reason)) {
        console.error('csb-relay dlq replay: give IDs, or --all / --reason, not both')
        return 2
      }
      if (ids.length === 0 && !values.all && !values.reason) {
        console.error(`csb-relay dlq replay: say what to replay: IDs, --reason TEXT or --all\n\n${HELP}`)
        return 2
      }
      const filter = ids.length > 0 ? { ids } : { all: values.all || undefined, reason: values.reason }
      const { replayed } = await adminRequest<{ replayed: number }>(target, 'POST', '/replay', { ...filter, destination: values.destination })
      const what = [
        ids.length > 0 ? `of ${ids.length} requested` : values.reason ? `with a reason containing "${values.reason}"` : '',
        values.destination ? `of ${values.destination}` : ''
      ].filter(Boolean).join(' ')
      console.log(`Replayed ${replayed} dead letter(s)${what ? ` ${what}` : ''}; they are queued for delivery again.`)
      if (ids.length > 0 && replayed < ids.length) console.error(`${ids.length - replayed} id(s) were not dead letters (unknown, or already replayed).`)
      return ids.length > 0 && replayed < ids.length ? 1 : 0
    }
    console.error(`csb-relay dlq: unknown subcommand "${sub}"; use "list" or "replay"\n\n${HELP}`)
    return 2
  })
}
