import { describe, expect, it } from 'vitest'
import { retentionLine } from './retention'

describe('the dashboard retention line', () => {
  it('says what is kept and for how long', () => {
    const line = retentionLine({ store: { retentionDays: 7, deadLetterRetentionDays: 30 } })
    expect(line).toContain('delivered and skipped events, with their request and response samples, for 7 days after they finish')
    expect(line).toContain('dead letters for 30 days after they fail')
    expect(retentionLine({ store: { retentionDays: 1, deadLetterRetentionDays: 1 / 24 } })).toContain('for 1 day after they finish; dead letters for 1 hour after')
  })

  it('is absent without a store retention', () => {
    expect(retentionLine({})).toBeUndefined()
    expect(retentionLine({ store: { retentionDays: '7' } })).toBeUndefined()
  })
})
