/**
 * Alternates the two servers in short slices at every connection level, so that load from other
 * processes on the machine falls on both alike, and times the relay's slices to the moment their
 * last accepted event is in its queue.
 */
import { untilQuiet } from '../lib/cpu'
import type { Proc } from '../lib/processes'
import { drive, type Slice } from './load'
import type { Scenario } from './requests'
import { untilQueued } from './servers'

export interface MeasureSettings {
  /** Measured seconds per server, scenario and level, split into `rounds` slices. */
  seconds: number
  rounds: number
  /** Connection counts, measured one at a time. */
  levels: number[]
  maxRequests: number
  warmUpSeconds: number
}

export interface LevelResult {
  connections: number
  bare: Slice
  /** Accepted events and the slices' own seconds: the acceptance-only figure. */
  relay: Slice
  /**
   * Seconds from the start of each relay slice until every event it accepted was in the queue,
   * summed: the time of the sustained figure.
   */
  relaySustainedSeconds: number
}

/** Events the relay answered 200 for since it started: what its queue must hold once it has caught up. */
export interface AcceptedCount {
  total: number
}

const add = (sum: Slice, s: Slice) => {
  sum.events += s.events
  sum.requests += s.requests
  sum.seconds += s.seconds
  sum.errors += s.errors
}
const empty = (): Slice => ({ events: 0, requests: 0, seconds: 0, errors: 0 })

/**
 * After a warm-up, ROUNDS x (bare slice, relay slice) at every level. The clock of a relay slice
 * runs from its first request until its queue holds every event accepted so far (the relay moves
 * the inbox during the slice and after it); then the bench waits, off the clock, for the relay to
 * go quiet (its WAL checkpoint), so that none of its work runs into the bare server's next slice.
 */
export async function measure(bare: Proc, relay: Proc, scenario: Scenario, settings: MeasureSettings, accepted: AcceptedCount): Promise<LevelResult[]> {
  const { seconds, rounds, levels, maxRequests, warmUpSeconds } = settings
  const top = Math.max(...levels)
  await drive(bare.url, scenario, warmUpSeconds, top, maxRequests)
  accepted.total += (await drive(relay.url, scenario, warmUpSeconds, top, maxRequests)).events
  await untilQueued(relay, accepted.total)
  await untilQuiet(relay.child.pid)
  const results: LevelResult[] = levels.map((connections) => ({ connections, bare: empty(), relay: empty(), relaySustainedSeconds: 0 }))
  for (let round = 0; round < rounds; round++) {
    for (const level of results) {
      add(level.bare, await drive(bare.url, scenario, seconds / rounds, level.connections, maxRequests))
      const started = performance.now()
      const slice = await drive(relay.url, scenario, seconds / rounds, level.connections, maxRequests)
      accepted.total += slice.events
      await untilQueued(relay, accepted.total)
      level.relaySustainedSeconds += (performance.now() - started) / 1000
      add(level.relay, slice)
      await untilQuiet(relay.child.pid)
    }
  }
  return results
}
