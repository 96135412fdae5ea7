/**
 * The overview's success rate: of the events delivery tried to the end, the share delivered.
 * Skips (consent, a suppression, integrations off) were never meant to be sent and count neither
 * way; the other figures still count them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CONSENT_SKIP_REASON } from '../delivery'
import { openStore } from '../store'
import type { Store } from '../store/types'
import { buildOverview } from './overview'
import { parsePeriod, type Period } from './period'
import { SUPPRESSION_SKIP_REASON } from './regulations'
import { trackEvent } from '../../test/helpers/events'

/** Enqueues delivered + dead + skipped events and finishes each so; the skips alternate consent and suppression. */
async function finish(store: Store, delivered: number, dead: number, skipped: number): Promise<void> {
  const total = delivered + dead + skipped
  const ids = (await store.enqueue(Array.from({ length: total }, (_, i) => trackEvent(i)))).map((r) => r.id)
  expect(await store.lease({ limit: total, leaseMs: 60_000, owner: 'test' })).toHaveLength(total)
  const done = ids.slice(0, delivered)
  const died = ids.slice(delivered, delivered + dead)
  const held = ids.slice(delivered + dead)
  if (done.length) await store.complete(done.map((id) => ({ id, action: 'trackFeature', status: 200 })))
  if (died.length) await store.deadLetter(died.map((id) => ({ id, reason: 'HTTP 400: bad', action: 'trackFeature', status: 400 })))
  if (held.length) await store.skip(held.map((id, i) => ({ id, reason: i % 2 ? SUPPRESSION_SKIP_REASON : CONSENT_SKIP_REASON })))
}

describe('overview success rate', () => {
  let store: Store
  const overview = () => buildOverview(store, parsePeriod('1h') as Period)

  beforeEach(async () => {
    store = await openStore(':memory:')
  })
  afterEach(async () => {
    await store.close()
  })

  it('is delivered ÷ (delivered + dead): consent and suppression skips count as neither', async () => {
    await finish(store, 3, 1, 4)
    const o = await overview()
    expect(o.totals).toMatchObject({ delivered: 3, dead: 1, skipped: 4 })
    expect(o.successRate).toBe(0.75)
  })

  it('is 1 when every event tried was delivered, however many were skipped', async () => {
    await finish(store, 2, 0, 6)
    expect((await overview()).successRate).toBe(1)
  })

  it('is null when nothing was tried: only skips', async () => {
    await finish(store, 0, 0, 3)
    const o = await overview()
    expect(o.totals.skipped).toBe(3)
    expect(o.successRate).toBeNull()
  })

  it('is null for an empty period, and 0 when every event tried died', async () => {
    expect((await overview()).successRate).toBeNull()
    await finish(store, 0, 2, 1)
    expect((await overview()).successRate).toBe(0)
  })
})
