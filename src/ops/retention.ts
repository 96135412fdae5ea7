/**
 * The sentence the dashboard shows about what the store keeps and for how long, from the
 * configuration in force (`store.retentionDays` or `store.retentionMs`, the dead letters' pair,
 * `store.pruneIntervalMs`).
 */

const SECOND = 1000
const DAY = 24 * 3_600_000
const UNITS: Array<[string, number]> = [['day', DAY], ['hour', 3_600_000], ['minute', 60_000], ['second', SECOND]]

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`

/** In the largest unit that fits, to a tenth: `7 days`, `1.5 hours`, `1 second`; under a second, in seconds. */
export function duration(ms: number): string {
  const [unit, size] = UNITS.find(([, size]) => ms >= size) ?? ['second', SECOND]
  return plural(+(ms / size).toFixed(1), unit)
}

const msOf = (ms: unknown, days: unknown): number | undefined =>
  typeof ms === 'number' ? ms : typeof days === 'number' ? days * DAY : undefined

/** Undefined when the configuration carries no store retention (a store opened without the CLI). */
export function retentionLine(config: Record<string, unknown>): string | undefined {
  const store = config.store as Record<string, unknown> | undefined
  const finished = msOf(store?.retentionMs, store?.retentionDays)
  const dead = msOf(store?.deadLetterRetentionMs, store?.deadLetterRetentionDays)
  if (finished === undefined || dead === undefined) return undefined
  const every = typeof store?.pruneIntervalMs === 'number' ? duration(store.pruneIntervalMs).replace(/^1 /, '') : undefined
  return (
    `Kept: delivered and skipped events, with their request and response samples, for ${duration(finished)} after they finish; ` +
    `dead letters for ${duration(dead)} after they fail (a replay starts them again); unfinished events until they finish; ` +
    'identity-map links (a user to an account) until an event links the user to another account or a deletion removes them. ' +
    `Pruned ${every === undefined ? 'on its own' : `every ${every}`} (store.retentionDays, store.deadLetterRetentionDays, store.pruneIntervalMs).`
  )
}
