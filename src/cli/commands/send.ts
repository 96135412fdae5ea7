/**
 * `csb-relay send`: sends one test event to a running relay through the Segment tracking API
 * (the same path an SDK uses), with a write key.
 */
import { randomUUID } from 'node:crypto'
import { commandArgs } from '../args'
import { firstWriteKey, relayUrl } from '../env'

const HELP = `Usage: csb-relay send [--type track|identify|group|page|screen|alias] [options]

Sends one Segment event to a running relay's tracking API (POST /v1/<type>), the way an SDK
would, and prints the relay's answer and the event's messageId. Look it up afterwards in the
dashboard or with \`csb-relay status\`.

Options:
  --type TYPE          event type (default track)
  --user-id ID         userId (default "csb-relay-test-user")
  --anonymous-id ID    anonymousId
  --account-id ID      account: properties.account_id (track/page/screen), traits.account_id
                       (identify), groupId (group)
  --event NAME         track event name (default "CSB Relay Test Event")
  --name NAME          page/screen name
  --group-id ID        groupId (group; default the account id)
  --previous-id ID     previousId (alias)
  --properties JSON    properties object, merged over the defaults
  --traits JSON        traits object, merged over the defaults
  --event-json JSON    the whole event as JSON (other event options are ignored)
  --message-id ID      messageId (default a new UUID)
  --write-key KEY      write key (default the first of $CSB_RELAY_WRITE_KEYS)
  --url URL            the relay (default http://127.0.0.1:8080, or http://$HOST:$PORT)
  -h, --help           this help`

const TYPES = new Set(['track', 'identify', 'group', 'page', 'screen', 'alias'])

function parseObject(text: string | undefined, flag: string): Record<string, unknown> {
  if (text === undefined) return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new Error(`${flag} is not valid JSON: ${(err as Error).message}`)
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${flag} must be a JSON object`)
  return value as Record<string, unknown>
}

export function buildEvent(v: Record<string, string | boolean | undefined>): Record<string, unknown> {
  if (typeof v['event-json'] === 'string') {
    const event = parseObject(v['event-json'], '--event-json')
    if (typeof event.type !== 'string' || !TYPES.has(event.type)) throw new Error('--event-json needs a "type": track, identify, group, page, screen or alias')
    if (!event.messageId) event.messageId = randomUUID()
    return event
  }
  const type = (v.type as string | undefined) ?? 'track'
  if (!TYPES.has(type)) throw new Error(`--type must be one of ${[...TYPES].join(', ')}, got "${type}"`)
  const account = v['account-id'] as string | undefined
  const event: Record<string, unknown> = {
    type,
    messageId: (v['message-id'] as string | undefined) ?? randomUUID(),
    timestamp: new Date().toISOString(),
    context: { library: { name: 'csb-relay send', version: '1' } }
  }
  if (v['anonymous-id']) event.anonymousId = v['anonymous-id']
  if (v['user-id'] || !v['anonymous-id']) event.userId = (v['user-id'] as string | undefined) ?? 'csb-relay-test-user'
  const properties = parseObject(v.properties as string | undefined, '--properties')
  const traits = parseObject(v.traits as string | undefined, '--traits')
  switch (type) {
    case 'track':
      event.event = (v.event as string | undefined) ?? 'CSB Relay Test Event'
      event.properties = { ...(account ? { account_id: account } : {}), ...properties }
      break
    case 'page':
    case 'screen':
      event.name = (v.name as string | undefined) ?? 'CSB Relay Test Page'
      event.properties = { ...(account ? { account_id: account } : {}), ...properties }
      break
    case 'identify':
      event.traits = { ...(account ? { account_id: account } : {}), ...traits }
      break
    case 'group': {
      const groupId = (v['group-id'] as string | undefined) ?? account
      if (!groupId) throw new Error('a group event needs --group-id or --account-id')
      event.groupId = groupId
      event.traits = traits
      break
    }
    case 'alias':
      if (!v['previous-id']) throw new Error('an alias event needs --previous-id')
      event.previousId = v['previous-id']
      break
  }
  return event
}

export async function run(argv: string[]): Promise<number> {
  const parsed = commandArgs('send', argv, {
    type: { type: 'string' },
    'user-id': { type: 'string' },
    'anonymous-id': { type: 'string' },
    'account-id': { type: 'string' },
    event: { type: 'string' },
    name: { type: 'string' },
    'group-id': { type: 'string' },
    'previous-id': { type: 'string' },
    properties: { type: 'string' },
    traits: { type: 'string' },
    'event-json': { type: 'string' },
    'message-id': { type: 'string' },
    'write-key': { type: 'string' },
    url: { type: 'string' }
  }, HELP)
  if (typeof parsed === 'number') return parsed
  const { values } = parsed
  const writeKey = firstWriteKey(values['write-key'])
  if (!writeKey) {
    console.error('csb-relay send: no write key: pass --write-key or set CSB_RELAY_WRITE_KEYS')
    return 2
  }
  let event: Record<string, unknown>
  try {
    event = buildEvent(values)
  } catch (err) {
    console.error(`csb-relay send: ${(err as Error).message}`)
    return 2
  }
  const url = relayUrl(values.url)
  const endpoint = `${url}/v1/${event.type as string}`
  let res: Response
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
      body: JSON.stringify(event)
    })
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    console.error(`csb-relay send: cannot reach the relay at ${url} (${cause?.code ?? (err as Error).message}); is it running? Use --url or PORT/HOST.`)
    return 1
  }
  const text = await res.text()
  if (!res.ok) {
    console.error(`csb-relay send: the relay answered ${res.status}: ${text}`)
    return 1
  }
  console.log(`Sent ${event.type as string}${typeof event.event === 'string' ? ` "${event.event}"` : ''} messageId=${event.messageId as string} to ${endpoint}: ${res.status} ${text}`)
  return 0
}
