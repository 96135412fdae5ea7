/**
 * The store's specification as tests, run against every engine (sqlite.test.ts,
 * postgres.test.ts). Time is injected: every store here reads the suite's clock.
 */
import { describe } from 'vitest'
import { admitTests } from './admit'
import { enqueueTests } from './enqueue'
import { expediteTests } from './expedite'
import { fanOutTests } from './fanout'
import { createSuite, type StoreHarness } from './harness'
import { instanceTests } from './instances'
import { leaseTests } from './lease'
import { purgeTests } from './purge'
import { readTests } from './reads'
import { regulationRaceTests } from './regulation-races'
import { regulationTests } from './regulations'
import { replayTests } from './replay'
import { retentionTests } from './retention'
import { suppressedRowsTests } from './suppressed-rows'
import { suppressionTests } from './suppression'

export { newEvent, T0, TestClock, type StoreHarness } from './harness'

export function storeConformance(harness: StoreHarness): void {
  describe(`store conformance (${harness.engine})`, () => {
    const suite = createSuite(harness)
    enqueueTests(suite)
    admitTests(suite)
    leaseTests(suite)
    replayTests(suite)
    expediteTests(suite)
    readTests(suite)
    instanceTests(suite)
    fanOutTests(suite)
    retentionTests(suite)
    regulationTests(suite)
    suppressionTests(suite)
    suppressedRowsTests(suite)
    purgeTests(suite)
    regulationRaceTests(suite)
  })
}
