/**
 * The requests bench/ingest.ts sends, the same to the relay and to the bare server. Bodies come
 * from templates with a fresh messageId spliced in, so building them costs the generator next to
 * nothing and every event is new to the relay (no dedupe shortcut).
 */
import { createHmac } from 'node:crypto'
import { basicAuth } from '../../test/helpers/http'

export const WRITE_KEY = 'wk_bench_0123456789abcdef'
const AUTH = basicAuth(WRITE_KEY)
/** The bench source's sharedSecret: /v1/webhook arrays are signed with it, without a key. */
export const SHARED_SECRET = 'bench-shared-secret-0123456789'
export const BATCH_SIZE = 100

export type Scenario = 'single' | 'batch' | 'webhook'

const ID = '__MESSAGE_ID__'
const EVENT = {
  type: 'track',
  messageId: ID,
  userId: 'user-417',
  event: 'Report Built',
  properties: { report: 'churn', rows: 417, plan: 'enterprise', region: 'eu-west-1' },
  context: { library: { name: 'bench', version: '1.0.0' }, ip: '203.0.113.7', userAgent: 'bench/1.0' },
  timestamp: new Date().toISOString()
}
const SINGLE_PARTS = JSON.stringify(EVENT).split(ID)
const BATCH_PARTS = JSON.stringify({ batch: Array.from({ length: BATCH_SIZE }, () => EVENT), sentAt: new Date().toISOString() }).split(ID)
let sequence = 0

function fill(parts: string[]): string {
  let text = parts[0]!
  const prefix = `bench-${process.pid}-${sequence++}-`
  for (let i = 1; i < parts.length; i++) text += prefix + i + parts[i]
  return text
}

export interface Body {
  path: string
  payload: string
  events: number
  headers: Record<string, string>
}

const BASIC = { authorization: AUTH }

/**
 * A JSON array of events, as Webhooks (Actions) sends a batch, with `X-Signature` as its
 * `extendRequest` makes it: the HMAC of the first event's JSON (built here from the same template,
 * so the generator signs without parsing the array).
 */
function webhookBody(): Body {
  const prefix = `bench-${process.pid}-${sequence++}-`
  const events: string[] = []
  for (let i = 1; i <= BATCH_SIZE; i++) events.push(SINGLE_PARTS[0] + prefix + i + SINGLE_PARTS[1])
  const signature = createHmac('sha1', SHARED_SECRET).update(events[0]!).digest('hex')
  return { path: '/v1/webhook', payload: `[${events.join(',')}]`, events: BATCH_SIZE, headers: { 'x-signature': signature } }
}

export function body(scenario: Scenario): Body {
  if (scenario === 'single') return { path: '/v1/track', payload: fill(SINGLE_PARTS), events: 1, headers: BASIC }
  if (scenario === 'webhook') return webhookBody()
  return { path: '/v1/batch', payload: fill(BATCH_PARTS), events: BATCH_SIZE, headers: BASIC }
}
