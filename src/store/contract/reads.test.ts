/**
 * Ingest's backpressure with several destinations: the bound counts events not yet delivered
 * everywhere (the slowest destination's rows), not the rows of every destination added up.
 */
import { describe, expect, it } from 'vitest'
import { slowestBacklog, type Counts, type DestinationCounts } from './reads'

const dest = (pending: number, retrying = 0, inFlight = 0): DestinationCounts => ({
  pending, retrying, inFlight, delivered: 0, dead: 0, skipped: 0, oldestPendingAt: null
})

function counts(admitted: number, byDestination: Record<string, DestinationCounts>): Counts {
  const all = Object.values(byDestination)
  const sum = (k: 'pending' | 'retrying' | 'inFlight') => all.reduce((n, d) => n + d[k], 0)
  return {
    admitted, pending: sum('pending'), retrying: sum('retrying'), inFlight: sum('inFlight'),
    delivered: 0, dead: 0, skipped: 0, oldestPendingAt: null, byDestination
  } as Counts
}

describe('backpressure with several destinations', () => {
  it('counts the destination furthest behind, plus what is admitted', () => {
    const c = counts(2, { CustomerSuccessBox: dest(1), hooks: dest(5, 3, 1) })
    expect(slowestBacklog(c)).toBe(2 + 9)
  })
  it('is the same as with one destination when all are equally behind', () => {
    const one = counts(0, { CustomerSuccessBox: dest(4, 1) })
    const two = counts(0, { CustomerSuccessBox: dest(4, 1), hooks: dest(4, 1) })
    expect(slowestBacklog(one)).toBe(5)
    expect(slowestBacklog(two)).toBe(5)
  })
})
