import { afterEach, describe, expect, it } from 'vitest'
import { fakeRegulations, type FakeRegulations } from '../../test/helpers/fake-regulations'
import { waitFor } from '../../test/helpers/wait'
import type { RegulationType } from '../store/types'
import { LEASE_CLOCK_MARGIN_MS, RegulationRunner, SUPPRESSION_SKIP_REASON, type DestinationDeleter } from './regulations'

const runners: RegulationRunner[] = []
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()))
})

function runner(store: FakeRegulations, options: Partial<ConstructorParameters<typeof RegulationRunner>[0]> = {}): RegulationRunner {
  const r = new RegulationRunner({ store, owner: `test-${runners.length}`, pollMs: 60_000, ...options })
  runners.push(r)
  return r
}

/** A deleter that records each userId it is handed, and rejects those in `refuse`. */
function deleter(name: string, refuse: Set<string> = new Set()): DestinationDeleter & { handed: string[] } {
  const handed: string[] = []
  return {
    name,
    handed,
    async deleteUser(userId) {
      handed.push(userId)
      if (refuse.has(userId)) throw new Error('HTTP 400: no such user')
    }
  }
}

async function finished(store: FakeRegulations, id: string) {
  return waitFor(`regulation ${id} to finish`, async () => {
    const r = await store.getRegulation(id)
    return r && r.status !== 'RUNNING' ? r : undefined
  })
}

async function createAndRun(store: FakeRegulations, type: RegulationType, subjectIds: string[], deleters: DestinationDeleter[] = []) {
  const { id } = await store.createRegulation({ type, subjectIds, origin: 'api' })
  runner(store, { deleters }).start()
  return finished(store, id)
}

describe('the regulation runner', () => {
  it('SUPPRESS_ONLY: suppresses the users (skip reason given to the store), counts the new ones, FINISHED', async () => {
    const store = fakeRegulations()
    store.suppressedIds.add('u-already')
    const calls: string[] = []
    const suppress = store.suppress
    store.suppress = (ids, reason) => (calls.push(reason), suppress(ids, reason))
    const r = await createAndRun(store, 'SUPPRESS_ONLY', ['u-1', 'u-2', 'u-already'])
    expect(r).toMatchObject({ status: 'FINISHED', error: null, counts: { suppressed: 2, events: 0, destinationDeletes: 0 } })
    expect(r.finishedAt).toBeInstanceOf(Date)
    expect([...store.suppressedIds].sort()).toEqual(['u-1', 'u-2', 'u-already'])
    expect(calls).toEqual([SUPPRESSION_SKIP_REASON])
    expect(store.purges).toEqual([])
  })

  it('UNSUPPRESS: takes the users off the list, counts those that were on it', async () => {
    const store = fakeRegulations()
    store.suppressedIds.add('u-1')
    const r = await createAndRun(store, 'UNSUPPRESS', ['u-1', 'u-never'])
    expect(r).toMatchObject({ status: 'FINISHED', counts: { unsuppressed: 1, suppressed: 0 } })
    expect(store.suppressedIds.size).toBe(0)
  })

  it('SUPPRESS_WITH_DELETE: suppress, then purge, then every destination with onDelete gets every user; counts add up', async () => {
    const store = fakeRegulations()
    const order: string[] = []
    const { suppress, purgeUsers } = store
    store.suppress = (ids, reason) => (order.push('suppress'), suppress(ids, reason))
    store.purgeUsers = (ids) => (order.push('purge'), purgeUsers(ids))
    store.purged = { events: 7, admittedEvents: 3, identityLinks: 2 }
    const hooks = deleter('hooks')
    const crm = deleter('crm')
    const handedFirst = hooks.deleteUser
    hooks.deleteUser = (id) => (order.push('onDelete'), handedFirst(id))
    const r = await createAndRun(store, 'SUPPRESS_WITH_DELETE', ['u-1', 'u-2', 'u-3'], [hooks, crm])
    expect(order.slice(0, 3)).toEqual(['suppress', 'purge', 'onDelete'])
    expect(store.purges).toEqual([['u-1', 'u-2', 'u-3']])
    expect(hooks.handed.sort()).toEqual(['u-1', 'u-2', 'u-3'])
    expect(crm.handed.sort()).toEqual(['u-1', 'u-2', 'u-3'])
    expect(r).toMatchObject({
      status: 'FINISHED',
      counts: { suppressed: 3, events: 7, admittedEvents: 3, identityLinks: 2, destinationDeletes: 6, destinationDeleteFailures: 0 }
    })
  })

  it('DELETE_ONLY: purges without suppressing', async () => {
    const store = fakeRegulations()
    const r = await createAndRun(store, 'DELETE_ONLY', ['u-1'])
    expect(r).toMatchObject({ status: 'FINISHED', counts: { suppressed: 0 } })
    expect(store.suppressedIds.size).toBe(0)
    expect(store.purges).toEqual([['u-1']])
  })

  it('a destination that fails a deletion makes the regulation FAILED, naming it; the others still get theirs', async () => {
    const store = fakeRegulations()
    const fine = deleter('fine')
    const broken = deleter('broken-crm', new Set(['u-2']))
    const r = await createAndRun(store, 'DELETE_ONLY', ['u-1', 'u-2'], [broken, fine])
    expect(r.status).toBe('FAILED')
    expect(r.error).toBe('destination "broken-crm" failed 1 deletion(s): HTTP 400: no such user')
    expect(r.counts).toMatchObject({ destinationDeletes: 3, destinationDeleteFailures: 1 })
    expect(fine.handed.sort()).toEqual(['u-1', 'u-2'])
    expect(store.purges).toEqual([['u-1', 'u-2']])
  })

  it.each([
    ['SUPPRESS_ONLY', ['suppress', 'revalidate', 'FINISHED']],
    ['SUPPRESS_WITH_DELETE', ['suppress', 'purge', 'revalidate', 'onDelete', 'FINISHED']],
    ['DELETE_ONLY', ['purge', 'revalidate', 'onDelete', 'FINISHED']],
    ['UNSUPPRESS', ['FINISHED']]
  ] as const)('%s: delivery drops its buffered copies after suppress and purge, before onDelete and FINISHED', async (type, expected) => {
    const store = fakeRegulations()
    const order: string[] = []
    const { suppress, purgeUsers, updateRegulation } = store
    store.suppress = (ids, reason) => (order.push('suppress'), suppress(ids, reason))
    store.purgeUsers = (ids) => (order.push('purge'), purgeUsers(ids))
    store.updateRegulation = (id, update) => (update.status && order.push(update.status), updateRegulation(id, update))
    const hooks = deleter('hooks')
    const handed = hooks.deleteUser
    hooks.deleteUser = (id) => (order.push('onDelete'), handed(id))
    const { id } = await store.createRegulation({ type, subjectIds: ['u-1'], origin: 'api' })
    runner(store, { deleters: [hooks], revalidateLeases: async () => void order.push('revalidate') }).start()
    expect((await finished(store, id)).status).toBe('FINISHED')
    expect(order).toEqual(expected)
  })

  it('delivery failing to check its buffered leases makes the regulation FAILED before any destination is handed a deletion', async () => {
    const store = fakeRegulations()
    const hooks = deleter('hooks')
    const { id } = await store.createRegulation({ type: 'SUPPRESS_WITH_DELETE', subjectIds: ['u-1'], origin: 'api' })
    runner(store, { deleters: [hooks], revalidateLeases: () => Promise.reject(new Error('database is locked')) }).start()
    expect(await finished(store, id)).toMatchObject({
      status: 'FAILED',
      error: "delivery could not check its buffered events' leases: database is locked; create the regulation again"
    })
    expect(hooks.handed).toEqual([])
  })

  it('a store failure makes the regulation FAILED with the step and the fix', async () => {
    const store = fakeRegulations()
    store.fail.purgeUsers = new Error('disk I/O error')
    const r = await createAndRun(store, 'SUPPRESS_WITH_DELETE', ['u-1'])
    expect(r).toMatchObject({ status: 'FAILED', error: 'the store failed to purge: disk I/O error; create the regulation again', counts: { suppressed: 1 } })
  })

  it('wakes at once for a regulation created on this instance, and finds others by polling', async () => {
    const store = fakeRegulations()
    const r = runner(store, { pollMs: 60_000 })
    r.start()
    await new Promise((resolve) => setTimeout(resolve, 50))
    const woken = await store.createRegulation({ type: 'SUPPRESS_ONLY', subjectIds: ['u-1'], origin: 'api' })
    r.wake()
    expect((await finished(store, woken.id)).status).toBe('FINISHED')

    const polling = fakeRegulations()
    runner(polling, { pollMs: 30 }).start()
    await new Promise((resolve) => setTimeout(resolve, 50))
    const polled = await polling.createRegulation({ type: 'SUPPRESS_ONLY', subjectIds: ['u-1'], origin: 'event' })
    expect((await finished(polling, polled.id)).status).toBe('FINISHED')
  })

  it('runs each regulation on one runner only, however many share the store', async () => {
    const store = fakeRegulations()
    const handed: string[] = []
    const shared: DestinationDeleter = { name: 'hooks', deleteUser: async (id) => void handed.push(id) }
    const ids = await Promise.all(Array.from({ length: 5 }, (_, i) => store.createRegulation({ type: 'DELETE_ONLY', subjectIds: [`u-${i}`], origin: 'api' })))
    for (let i = 0; i < 3; i++) runner(store, { deleters: [shared], pollMs: 10 }).start()
    for (const { id } of ids) expect((await finished(store, id)).status).toBe('FINISHED')
    expect(handed.sort()).toEqual(['u-0', 'u-1', 'u-2', 'u-3', 'u-4'])
    expect(store.purges).toHaveLength(5)
  })

  it('takes up a regulation whose runner died once its claim runs out', async () => {
    const store = fakeRegulations()
    const { id } = await store.createRegulation({ type: 'SUPPRESS_ONLY', subjectIds: ['u-1'], origin: 'api' })
    // A runner that claimed it and died: its claim holds for 200 ms.
    expect(await store.claimRegulations('dead-instance', 200, 10)).toHaveLength(1)
    runner(store, { pollMs: 25 }).start()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await store.getRegulation(id))!.status).toBe('RUNNING')
    expect(await finished(store, id)).toMatchObject({ status: 'FINISHED', counts: { suppressed: 1 } })
  })

  it('stopped half-way through the deletions, leaves the regulation RUNNING for a later run', async () => {
    const store = fakeRegulations()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow: DestinationDeleter = { name: 'slow', deleteUser: () => gate }
    const { id } = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: Array.from({ length: 20 }, (_, i) => `u-${i}`), origin: 'api' })
    const r = runner(store, { deleters: [slow] })
    r.start()
    await waitFor('the purge', () => store.purges.length === 1)
    const stopped = r.stop()
    release()
    await stopped
    expect(await store.getRegulation(id)).toMatchObject({ status: 'RUNNING', finishedAt: null })
  })

  it('a failed claim is logged and tried again at the next poll', async () => {
    const store = fakeRegulations()
    const warnings: string[] = []
    store.fail.claimRegulations = new Error('connection refused')
    const { id } = await store.createRegulation({ type: 'SUPPRESS_ONLY', subjectIds: ['u-1'], origin: 'api' })
    runner(store, { pollMs: 25, logger: { info() {}, error() {}, warn: (o) => void warnings.push(JSON.stringify(o)) } }).start()
    await waitFor('a warning', () => warnings.length > 0)
    expect(warnings[0]).toContain('connection refused')
    delete store.fail.claimRegulations
    expect((await finished(store, id)).status).toBe('FINISHED')
  })
})

describe('the regulation runner and other instances\' leases', () => {
  it('waits for the leases another instance held on the rows taken away, and a request under them, before FINISHED', async () => {
    const store = fakeRegulations()
    const owners: Array<string | undefined> = []
    const { suppress, purgeUsers } = store
    store.suppress = (ids, reason, owner) => (owners.push(owner), suppress(ids, reason, owner))
    store.purgeUsers = (ids, owner) => (owners.push(owner), purgeUsers(ids, owner))
    const start = Date.now()
    store.suppressTook = { leasedElsewhereUntil: start + 100 }
    store.purged = { events: 2, admittedEvents: 0, identityLinks: 0, leasedElsewhereUntil: start + 300 }
    const hooks = deleter('hooks')
    const { id } = await store.createRegulation({ type: 'SUPPRESS_WITH_DELETE', subjectIds: ['u-1'], origin: 'api' })
    runner(store, { owner: 'me', inFlightMs: 200, deleters: [hooks] }).start()
    await waitFor('the purge', () => store.purges.length === 1)
    expect(owners).toEqual(['me', 'me'])
    // Still RUNNING, no deletion handed on, until the later lease plus a request plus the clock margin.
    expect((await store.getRegulation(id))!.status).toBe('RUNNING')
    expect(hooks.handed).toEqual([])
    const r = await finished(store, id)
    expect(Date.now() - start).toBeGreaterThanOrEqual(300 + 200 + LEASE_CLOCK_MARGIN_MS)
    expect(r).toMatchObject({ status: 'FINISHED', counts: { suppressed: 1, events: 2 } })
    expect(r.counts).not.toHaveProperty('leasedElsewhereUntil')
    expect(hooks.handed).toEqual(['u-1'])
  })

  it('a stop during that wait leaves the regulation RUNNING and its claim released', async () => {
    const store = fakeRegulations()
    store.purged = { events: 1, admittedEvents: 0, identityLinks: 0, leasedElsewhereUntil: Date.now() + 60_000 }
    const { id } = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: ['u-1'], origin: 'api' })
    const r = runner(store)
    r.start()
    await waitFor('the purge', () => store.purges.length === 1)
    const stopped = Date.now()
    await r.stop()
    expect(Date.now() - stopped).toBeLessThan(5_000)
    expect((await store.getRegulation(id))!.status).toBe('RUNNING')
    expect(store.claims.has(id)).toBe(false)
  })

  it('leases already run out, or none taken: no wait', async () => {
    const store = fakeRegulations()
    store.purged = { events: 1, admittedEvents: 0, identityLinks: 0, leasedElsewhereUntil: Date.now() - 60_000 }
    const start = Date.now()
    expect(await createAndRun(store, 'DELETE_ONLY', ['u-1'])).toMatchObject({ status: 'FINISHED' })
    expect(Date.now() - start).toBeLessThan(LEASE_CLOCK_MARGIN_MS)
  })
})
