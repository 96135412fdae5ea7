import { describe, expect, it } from 'vitest'
import { fakeStore } from '../../test/helpers/fake-store'
import { GENERATED_WRITE_KEY_META, ensureWriteKey } from './write-key'

describe('the generated write key', () => {
  it('is created once when none is configured, saved, and reused on the next start', async () => {
    const store = fakeStore()
    const first = await ensureWriteKey(store, [])
    expect(first.generated?.createdNow).toBe(true)
    expect(first.generated?.writeKey).toMatch(/^wk_[A-Za-z0-9_-]{32}$/)
    expect(store.meta.get(GENERATED_WRITE_KEY_META)).toBe(first.generated?.writeKey)
    expect(first.sources).toEqual([{ name: 'default', writeKey: first.generated?.writeKey }])

    const second = await ensureWriteKey(store, [])
    expect(second.generated).toEqual({ writeKey: first.generated?.writeKey, createdNow: false })
  })

  it('is one key for relays starting together on one empty store: one creates it, the others use it', async () => {
    const store = fakeStore()
    const setups = await Promise.all([ensureWriteKey(store, []), ensureWriteKey(store, []), ensureWriteKey(store, [])])
    const keys = new Set(setups.map((s) => s.generated?.writeKey))
    expect(keys.size).toBe(1)
    expect(store.meta.get(GENERATED_WRITE_KEY_META)).toBe(setups[0].generated?.writeKey)
    expect(setups.filter((s) => s.generated?.createdNow)).toHaveLength(1)
  })

  it('is not used when write keys are configured', async () => {
    const store = fakeStore()
    const setup = await ensureWriteKey(store, [{ name: 'web', writeKey: 'k' }])
    expect(setup).toEqual({ sources: [{ name: 'web', writeKey: 'k' }] })
    expect(store.meta.size).toBe(0)
  })
})
