/** The `destinations` key of the config file, read before any definition is loaded. */
import { describe, expect, it } from 'vitest'
import { parseDestinations } from './destinations-config'

describe('parseDestinations', () => {
  it('refuses the built-in name, a reused name and an unknown key', () => {
    expect(() => parseDestinations([{ name: 'CustomerSuccessBox', definition: 'webhook' }])).toThrow(/built-in destination.*choose another name/)
    expect(() => parseDestinations([{ name: 'a', definition: 'webhook' }, { name: 'a', definition: 'webhook' }])).toThrow(/used twice/)
    expect(() => parseDestinations([{ name: 'a', definition: 'webhook', setings: {} }])).toThrow(/unknown setting "destinations\[0\]\.setings"/)
  })
})
