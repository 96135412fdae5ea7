import { describe, expect, it } from 'vitest'
import { BacklogGate } from './backlog-gate'

describe('the backlog gate', () => {
  it('reuses a count within the refresh interval and adds what was accepted since', async () => {
    let reads = 0
    const gate = new BacklogGate(async () => { reads++; return 5 }, 10, 60_000)
    expect(await gate.isOver()).toBe(false)
    gate.accepted(5)
    expect(await gate.isOver()).toBe(false)
    gate.accepted(1)
    expect(await gate.isOver()).toBe(true)
    expect(reads).toBe(1)
  })

  it('keeps the last count when the store fails to answer', async () => {
    let fail = false
    const errors: unknown[] = []
    const gate = new BacklogGate(async () => { if (fail) throw new Error('locked'); return 20 }, 10, 0, (e) => errors.push(e))
    expect(await gate.isOver()).toBe(true)
    fail = true
    expect(await gate.isOver()).toBe(true)
    expect(errors).toHaveLength(1)
  })
})
