/**
 * Recovery after an outage, with the recovery off and on in the same run (docs/delivery.md,
 * "Recovery after an outage"): the built relay (this checkout's dist/) with its default backoff,
 * a 503 outage of the sandbox, events held through it. Prints for each run how long after the
 * outage's end the last event reached CSB, and the attempts made while it lasted.
 *
 *   npm run build && npx tsx bench/recovery.ts [--users N] [--per-user N] [--outage S] [--quick]
 *
 * Default: 500 users × 3 events (1,500) through a 14 s outage; --quick: 100 × 2 through 4 s.
 * The "off" run is the slow one: each event waits out its own backoff (half a minute to a minute at the
 * default size on the 2-CPU test machine).
 */
import { parseArgs } from 'node:util'
import { COMMON_OPTIONS, setting } from './lib/options'
import { machineLine } from './lib/report'
import { describeRun, runRecoveryScenario } from '../test/delivery/recovery-scenario'
import { removeTempDirs } from '../test/helpers/temp'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { ...COMMON_OPTIONS, users: { type: 'string' }, 'per-user': { type: 'string' }, outage: { type: 'string' } },
    strict: true
  })
  if (values.dist) throw new Error('--dist is not supported here: this bench runs the relay of this checkout (npm run build first)')
  const quick = values.quick ?? false
  const users = setting('--users', values.users, { full: 500, short: 100 }, quick, 1)
  const perUser = setting('--per-user', values['per-user'], { full: 3, short: 2 }, quick, 1)
  const outageSeconds = setting('--outage', values.outage, { full: 14, short: 4 }, quick, 1)
  console.log(machineLine())
  console.log(`Recovery: ${users} users × ${perUser} events held through a ${outageSeconds} s 503 outage; default backoff (1 s base, full jitter)`)
  const off = await runRecoveryScenario({ wakeOnRecovery: false, users, perUser, outageSeconds })
  console.log(describeRun('recovery off (each event waits out its backoff)', off))
  const on = await runRecoveryScenario({ wakeOnRecovery: true, users, perUser, outageSeconds })
  console.log(describeRun('recovery on (retries due when CSB answers again)', on))
  console.log(`on / off: drain ${(on.drainMs / Math.max(1, off.drainMs)).toFixed(2)}, attempts during the outage ${(on.outageAttempts / Math.max(1, off.outageAttempts)).toFixed(2)}`)
}

main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exitCode = 1
  })
  .finally(removeTempDirs)
