import { describe, expect, it } from 'vitest'
import { duration, retentionLine } from './retention'

describe('the dashboard retention line', () => {
  it('says what is kept and for how long', () => {
    const line = retentionLine({ store: { retentionDays: 7, deadLetterRetentionDays: 30 } })
    expect(line).toContain('delivered and skipped events, with their request and response samples, for 7 days after they finish')
    expect(line).toContain('dead letters for 30 days after they fail')
    expect(retentionLine({ store: { retentionDays: 1, deadLetterRetentionDays: 1 / 24 } })).toContain('for 1 day after they finish; dead letters for 1 hour after')
  })

  it('says that identity-map links stay until another account or a deletion, and how often pruning runs', () => {
    const line = retentionLine({ store: { retentionDays: 7, deadLetterRetentionDays: 30, pruneIntervalMs: 3_600_000 } })
    expect(line).toContain('identity-map links (a user to an account) until an event links the user to another account or a deletion removes them.')
    expect(line).toMatch(/ Pruned every hour \(store\.retentionDays, store\.deadLetterRetentionDays, store\.pruneIntervalMs\)\.$/)
    expect(retentionLine({ store: { retentionDays: 7, deadLetterRetentionDays: 30, pruneIntervalMs: 300_000 } })).toContain('Pruned every 5 minutes')
    expect(retentionLine({ store: { retentionDays: 7, deadLetterRetentionDays: 30 } })).toContain('Pruned on its own')
  })

  it('takes the milliseconds the store is given, so a short retention reads as it is', () => {
    // What the CLI's config holds for {"store": {"retentionMs": 1000}}: both forms.
    const line = retentionLine({ store: { retentionDays: 1000 / 86_400_000, retentionMs: 1000, deadLetterRetentionDays: 30, deadLetterRetentionMs: 30 * 86_400_000, pruneIntervalMs: 2000 } })
    expect(line).toContain('for 1 second after they finish; dead letters for 30 days after they fail')
    expect(line).toContain('Pruned every 2 seconds')
  })

  it('writes durations in the largest unit that fits, to a tenth', () => {
    expect([0, 500, 1000, 45_000, 90_000, 3_600_000, 6_000_000, 86_400_000, 36 * 3_600_000, 7 * 86_400_000].map(duration)).toEqual([
      '0 seconds', '0.5 seconds', '1 second', '45 seconds', '1.5 minutes', '1 hour', '1.7 hours', '1 day', '1.5 days', '7 days'
    ])
  })

  it('is absent without a store retention', () => {
    expect(retentionLine({})).toBeUndefined()
    expect(retentionLine({ store: { retentionDays: '7' } })).toBeUndefined()
  })
})
