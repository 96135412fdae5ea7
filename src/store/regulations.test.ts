import { describe, expect, it } from 'vitest'
import { newRegulationId } from './regulations'

describe('regulation ids', () => {
  it('are 128 random bits as 32 hex digits: none starts with "-", which a command line would read as an option', () => {
    // Base64url would start one id in 64 with "-": 10,000 ids would hold about 156 of them.
    const ids = Array.from({ length: 10_000 }, newRegulationId)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
