/**
 * The sentence the dashboard shows about what the store keeps and for how long, from the
 * configuration in force (`store.retentionDays`, `store.deadLetterRetentionDays`).
 */

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`
const days = (n: number) => (Number.isInteger(n) ? plural(n, 'day') : plural(+(n * 24).toFixed(2), 'hour'))

/** Undefined when the configuration carries no store retention (a store opened without the CLI). */
export function retentionLine(config: Record<string, unknown>): string | undefined {
  const store = config.store as { retentionDays?: unknown; deadLetterRetentionDays?: unknown } | undefined
  const finished = store?.retentionDays
  const dead = store?.deadLetterRetentionDays
  if (typeof finished !== 'number' || typeof dead !== 'number') return undefined
  return (
    `Kept: delivered and skipped events, with their request and response samples, for ${days(finished)} after they finish; ` +
    `dead letters for ${days(dead)} after they fail (a replay starts them again); unfinished events until they finish. ` +
    'Pruned hourly (store.retentionDays, store.deadLetterRetentionDays).'
  )
}
