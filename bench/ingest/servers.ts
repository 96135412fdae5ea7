/**
 * The two servers bench/ingest.ts compares, each its own process: the relay (from the chosen
 * dist) and a bare fastify server; and how the bench knows the relay has moved what it accepted
 * into its queue.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Dist } from '../lib/dist'
import { scrape, sumOf } from '../lib/metrics'
import { relayEnv, startProcess, type Proc } from '../lib/processes'
import { SHARED_SECRET, WRITE_KEY } from './requests'

/** The bare baseline: fastify, a raw-body parser, JSON.parse, {"success":true}. Nothing else. */
const BARE_SERVER = `
const fastify = require('fastify')()
fastify.removeAllContentTypeParsers()
fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 512000 }, (req, body, done) => {
  try { done(null, JSON.parse(body.toString('utf8'))) } catch (err) { err.statusCode = 400; done(err) }
})
fastify.post('/v1/:kind', (req, reply) => { reply.type('application/json; charset=utf-8').send('{"success":true}') })
fastify.listen({ port: 0, host: '127.0.0.1' }).then((address) => console.log('listening on ' + address))
`

export function startBare(): Promise<Proc> {
  return startProcess('bare fastify', ['-e', BARE_SERVER], { env: relayEnv() })
}

/** The relay with a store in `dir`, no CSB (nothing is delivered), every event accepted; `nodeArgs` e.g. for --cpu-prof. */
export function startRelay(dist: Dist, dir: string, nodeArgs: string[]): Promise<Proc> {
  // The backlog bound is raised so that every event the run sends is accepted (backpressure is
  // not what this measures).
  const config = path.join(dir, 'relay.json')
  fs.writeFileSync(config, JSON.stringify({ ingest: { maxBacklog: 1_000_000_000 }, sources: [{ name: 'bench', writeKey: WRITE_KEY, sharedSecret: SHARED_SECRET }] }))
  const args = ['start', '--port', '0', '--db', path.join(dir, 'bench.db'), '--config', config]
  return startProcess('relay', dist.cli(args, nodeArgs), { env: relayEnv() })
}

const BACKLOG = 'csb_relay_backlog_events'
const POLL_MS = 20
/** Without progress for this long, the move is stuck: the bench fails rather than print a rate. */
const STUCK_MS = 60_000

/** Events admitted (committed to the inbox, not yet moved) and queued (in the queue, unfinished), from /metrics. */
async function queueState(relay: Proc): Promise<{ admitted: number; queued: number }> {
  const text = await scrape(relay)
  if (!text.includes(`${BACKLOG}{state="admitted"}`)) throw new Error(`relay /metrics has no ${BACKLOG}{state="admitted"}`)
  const state = (s: string) => sumOf(text, BACKLOG, `state="${s}"`)
  return { admitted: state('admitted'), queued: state('pending') + state('retrying') + state('in_flight') }
}

/**
 * Resolves when every event the relay has accepted since it started (`accepted`, counted by the
 * bench from its 200 answers) is in its queue, ready to deliver: nothing admitted and waiting,
 * and at least that many events queued (no CSB is configured, so none leaves the queue). Polls
 * every POLL_MS, so the time it returns at is never early.
 */
export async function untilQueued(relay: Proc, accepted: number): Promise<void> {
  let last = { admitted: -1, queued: -1 }
  let progressAt = performance.now()
  for (;;) {
    const state = await queueState(relay)
    if (state.admitted === 0 && state.queued >= accepted) return
    if (state.admitted !== last.admitted || state.queued !== last.queued) progressAt = performance.now()
    else if (performance.now() - progressAt > STUCK_MS) {
      throw new Error(`relay: ${accepted} events accepted, ${state.queued} queued and ${state.admitted} admitted, unchanged for ${STUCK_MS / 1000} s`)
    }
    last = state
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}
