/** What bench/ingest.ts prints: the sustained rate first (the headline), then acceptance alone. */
import { percent, thousands } from '../lib/report'
import type { Slice } from './load'
import type { LevelResult } from './measure'
import { BATCH_SIZE, type Scenario } from './requests'

/** Acceptance targets: relay peak against bare peak. */
export const TARGETS: Record<Scenario, number> = { single: 0.4, batch: 0.5, webhook: 0.5 }
/** The relay's webhook acceptance peak against its batch peak: at least this. */
const WEBHOOK_TO_BATCH = 0.9

const label = (scenario: Scenario) =>
  scenario === 'single' ? 'single-event requests' : scenario === 'webhook' ? `${BATCH_SIZE}-event webhook arrays` : `${BATCH_SIZE}-event batches`
const rate = (s: Slice) => (s.seconds > 0 ? s.events / s.seconds : 0)
const sustained = (l: LevelResult) => (l.relaySustainedSeconds > 0 ? l.relay.events / l.relaySustainedSeconds : 0)
const num = (n: number, width = 10) => thousands(n).padStart(width)
const pct = (ratio: number) => percent(ratio).padStart(4)
/** The level where `of` is highest. */
const peak = (levels: LevelResult[], of: (l: LevelResult) => number) => levels.reduce((best, l) => (of(l) > of(best) ? l : best))
const at = (value: number, level: LevelResult) => `${num(value)} (${level.connections})`.padEnd(22)

export type Results = Partial<Record<Scenario, LevelResult[]>>

/** Prints every table; returns whether a target was missed, and how many requests failed. */
export function printResults(results: Results): { missed: boolean; errors: number } {
  const scenarios = Object.keys(results) as Scenario[]
  const levelsOf = (s: Scenario) => results[s]!
  console.log('')
  console.log('Sustained rate: events accepted AND moved into the relay\'s queue, ready to deliver, per second.')
  console.log('Each relay slice is timed from its first request until its last accepted event is in the queue;')
  console.log('the bare server only accepts. Peak against peak (each at the level where it did the most):')
  console.log('scenario                 bare events/s (conns)   relay sustained (conns)   ratio')
  for (const s of scenarios) {
    const bare = peak(levelsOf(s), (l) => rate(l.bare))
    const relay = peak(levelsOf(s), sustained)
    console.log(`${label(s).padEnd(24)} ${at(rate(bare.bare), bare)}  ${at(sustained(relay), relay)}   ${pct(sustained(relay) / rate(bare.bare))}`)
  }
  console.log('')
  console.log('scenario                 connections   bare events/s   relay sustained   ratio   relay accepted   seconds (slices / until queued)')
  for (const s of scenarios) {
    for (const l of levelsOf(s)) {
      console.log(
        `${label(s).padEnd(24)} ${String(l.connections).padStart(8)}       ${num(rate(l.bare))}      ${num(sustained(l))}    ${pct(sustained(l) / rate(l.bare))}   ${num(l.relay.events, 12)}     ${l.relay.seconds.toFixed(2)} / ${l.relaySustainedSeconds.toFixed(2)}`
      )
    }
  }

  console.log('')
  console.log('Acceptance only: events answered 200 (committed to the relay\'s inbox) per second of the slices,')
  console.log('the move into the queue not counted. Targets compare peak with peak:')
  console.log('scenario                 bare events/s (conns)   relay accepted (conns)    ratio   target')
  let missed = false
  let errors = 0
  for (const s of scenarios) {
    const bare = peak(levelsOf(s), (l) => rate(l.bare))
    const relay = peak(levelsOf(s), (l) => rate(l.relay))
    const ratio = rate(relay.relay) / rate(bare.bare)
    const ok = ratio >= TARGETS[s]
    missed ||= !ok
    console.log(`${label(s).padEnd(24)} ${at(rate(bare.bare), bare)}  ${at(rate(relay.relay), relay)}   ${pct(ratio)}   >= ${TARGETS[s] * 100}% ${ok ? 'met' : 'MISSED'}`)
  }
  console.log('scenario                 connections   bare events/s   relay accepted   ratio   requests (bare/relay)   non-200 (bare/relay)')
  for (const s of scenarios) {
    for (const { connections, bare, relay } of levelsOf(s)) {
      errors += bare.errors + relay.errors
      console.log(
        `${label(s).padEnd(24)} ${String(connections).padStart(8)}       ${num(rate(bare))}      ${num(rate(relay))}     ${pct(rate(relay) / rate(bare))}   ${bare.requests}/${relay.requests}   ${bare.errors}/${relay.errors}`
      )
    }
  }
  if (results.batch && results.webhook) {
    const ratio = rate(peak(results.webhook, (l) => rate(l.relay)).relay) / rate(peak(results.batch, (l) => rate(l.relay)).relay)
    const ok = ratio >= WEBHOOK_TO_BATCH
    missed ||= !ok
    console.log(`relay: webhook arrays against batches (acceptance, peak against peak): ${pct(ratio)}   >= ${WEBHOOK_TO_BATCH * 100}% ${ok ? 'met' : 'MISSED'}`)
  }
  return { missed, errors }
}
