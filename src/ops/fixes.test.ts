import { describe, expect, it } from 'vitest'
import { NameLimitError } from '../delivery'
import { suggestFix } from './fixes'

describe('suggestFix', () => {
  it('gives the fix for a feature name refused by the distinct-name limit', () => {
    // The dead letter's reason is "<error name>: <message>" (src/delivery/names.test.ts checks that delivery records it so).
    const err = new NameLimitError('feature', 'Three', 2)
    expect(suggestFix(`${err.name}: ${err.message}`)).toMatch(/^CSB keeps at most 256 distinct features .*maxDistinctFeatures.*replay/)
  })

  it('says a suppressed user\'s skipped events need no fix, and how to lift the suppression', () => {
    expect(suggestFix('user suppressed by a regulation (SUPPRESS_ONLY or SUPPRESS_WITH_DELETE): not delivered')).toMatch(/^Nothing to fix: the user is suppressed .*UNSUPPRESS/)
  })
})
