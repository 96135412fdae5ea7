import { afterEach, describe, expect, it, vi } from 'vitest'
import { fakeRegulations, type FakeRegulations } from '../../test/helpers/fake-regulations'
import { waitFor } from '../../test/helpers/wait'
import { RegulationRunner, type DestinationDeleter, type RegulationRunnerOptions } from './regulations'

const runners: RegulationRunner[] = []
afterEach(async () => {
  let stopped = false
  const stopping = Promise.all(runners.splice(0).map((r) => r.stop())).then(() => (stopped = true))
  // Deletions still in flight (a test that failed half-way) end only as fake time passes.
  for (let i = 0; vi.isFakeTimers() && !stopped && i < 100; i++) await vi.advanceTimersByTimeAsync(10_000)
  await stopping
  vi.useRealTimers()
})

function runner(store: FakeRegulations, options: Partial<RegulationRunnerOptions> & { owner: string }): RegulationRunner {
  const r = new RegulationRunner({ store, pollMs: 60_000, ...options })
  runners.push(r)
  return r
}

/** Timers and Date under the test's hand; the fake store reads the same clock. */
function fakeTime(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
}

const subjects = (n: number) => Array.from({ length: n }, (_, i) => `u-${i}`)

/** A destination whose every deletion takes `ms`; records the users it finished. */
function slowDeleter(ms: number): DestinationDeleter & { handed: string[] } {
  const handed: string[] = []
  return {
    name: 'slow',
    handed,
    deleteUser: (userId) => new Promise((resolve) => setTimeout(() => resolve(void handed.push(userId)), ms))
  }
}

const warningsOf = (lines: string[]) => ({ info() {}, error() {}, warn: (obj: object, msg?: string) => void lines.push(`${msg} ${JSON.stringify(obj)}`) })

describe('the regulation runner\'s claim', () => {
  it('is renewed while a run outlasts it: a second runner polling all along never takes the regulation', async () => {
    fakeTime()
    const store = fakeRegulations()
    const renewals: string[] = []
    const renew = store.renewRegulationClaim
    store.renewRegulationClaim = (id, owner, ms) => (renewals.push(owner), renew(id, owner, ms))
    // 30 deletions of 10 s, 4 at a time: 80 s, against a 30 s claim.
    const slow = slowDeleter(10_000)
    const { id } = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: subjects(30), origin: 'api' })
    runner(store, { owner: 'first', claimMs: 30_000, deleters: [slow] }).start()
    await vi.advanceTimersByTimeAsync(1)
    expect(store.claims.get(id)?.owner).toBe('first')
    runner(store, { owner: 'second', claimMs: 30_000, pollMs: 1_000, deleters: [slow] }).start()
    for (let s = 0; s < 120 && store.regulations.get(id)!.status === 'RUNNING'; s++) await vi.advanceTimersByTimeAsync(1_000)
    expect(await store.getRegulation(id)).toMatchObject({ status: 'FINISHED', counts: { destinationDeletes: 30 } })
    // Each user handed once: the second runner never ran it.
    expect(slow.handed.sort()).toEqual(subjects(30).sort())
    expect(renewals.filter((owner) => owner === 'first').length).toBeGreaterThanOrEqual(7)
    expect(renewals).not.toContain('second')
    // Finished: nobody holds it.
    expect(store.claims.has(id)).toBe(false)
  })

  it('is released when the runner stops half-way: a second runner takes the regulation up at once, not when the claim runs out', async () => {
    const store = fakeRegulations()
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const handed: string[] = []
    const gated: DestinationDeleter = { name: 'gated', deleteUser: async (userId) => void (await gate, handed.push(userId)) }
    const { id } = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: subjects(20), origin: 'api' })
    const first = runner(store, { owner: 'first', claimMs: 10 * 60_000, deleters: [gated] })
    first.start()
    await waitFor('the purge', () => store.purges.length === 1)
    const stopped = first.stop()
    open()
    await stopped
    expect(store.regulations.get(id)!.status).toBe('RUNNING')
    expect(store.claims.has(id)).toBe(false)
    runner(store, { owner: 'second', claimMs: 10 * 60_000, deleters: [gated] }).start()
    const done = await waitFor('the second runner to finish it', () => store.regulations.get(id)!.status === 'FINISHED' && store.regulations.get(id)!, { timeoutMs: 15_000 })
    expect(done.counts.destinationDeletes).toBe(20)
    expect(store.purges).toHaveLength(2)
  })

  it('outlasted by a purge that holds every write back (SQLite\'s VACUUM), is still held: the runner finishes the regulation', async () => {
    fakeTime()
    const store = fakeRegulations()
    const warnings: string[] = []
    // The purge takes 90 s against a 30 s claim, and the renewals wait behind it, as writes wait
    // behind a VACUUM; then they succeed (nobody else could claim meanwhile).
    let stall: Promise<void> = Promise.resolve()
    const purge = store.purgeUsers.bind(store)
    store.purgeUsers = async (ids) => {
      stall = new Promise((resolve) => setTimeout(resolve, 90_000))
      await stall
      return purge(ids)
    }
    const renew = store.renewRegulationClaim.bind(store)
    store.renewRegulationClaim = async (id, owner, ms) => (await stall, renew(id, owner, ms))
    const slow = slowDeleter(1_000)
    const { id } = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: subjects(4), origin: 'api' })
    runner(store, { owner: 'first', claimMs: 30_000, deleters: [slow], logger: warningsOf(warnings) }).start()
    for (let s = 0; s < 200 && store.regulations.get(id)!.status === 'RUNNING'; s++) await vi.advanceTimersByTimeAsync(1_000)
    expect(await store.getRegulation(id)).toMatchObject({ status: 'FINISHED', counts: { destinationDeletes: 4 } })
    expect(slow.handed.sort()).toEqual(subjects(4).sort())
    expect(warnings.join('\n')).not.toMatch(/claim lost/)
  })

  it('lost to another owner, the runner stops handing deletions, records nothing and leaves the claim to its holder', async () => {
    fakeTime()
    const store = fakeRegulations()
    const warnings: string[] = []
    const slow = slowDeleter(10_000)
    const { id } = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: subjects(30), origin: 'api' })
    const first = runner(store, { owner: 'first', claimMs: 30_000, deleters: [slow], logger: warningsOf(warnings) })
    first.start()
    await vi.advanceTimersByTimeAsync(1)
    // Another instance holds it now (as after this one's claim ran out).
    store.claims.set(id, { owner: 'other', until: Date.now() + 10 * 60_000 })
    await vi.advanceTimersByTimeAsync(120_000)
    await first.stop()
    // Only the deletions in flight when the renewal found the loss (at 10 s) were handed.
    expect(slow.handed.length).toBeGreaterThan(0)
    expect(slow.handed.length).toBeLessThanOrEqual(4)
    expect(await store.getRegulation(id)).toMatchObject({ status: 'RUNNING', error: null, counts: { destinationDeletes: 0 } })
    expect(store.claims.get(id)?.owner).toBe('other')
    expect(warnings.join('\n')).toMatch(/another instance holds its claim/)
  })

  it('not renewed for a whole claim (the store unreachable), counts as lost: the runner stops before the claim can pass to another', async () => {
    fakeTime()
    const store = fakeRegulations()
    const warnings: string[] = []
    store.fail.renewRegulationClaim = new Error('connection refused')
    const slow = slowDeleter(10_000)
    const { id } = await store.createRegulation({ type: 'DELETE_ONLY', subjectIds: subjects(30), origin: 'api' })
    const first = runner(store, { owner: 'first', claimMs: 30_000, deleters: [slow], logger: warningsOf(warnings) })
    first.start()
    // Past the loss, short of the next poll (which would claim it again).
    await vi.advanceTimersByTimeAsync(45_000)
    await first.stop()
    // 30 s without a renewal: the batch in flight then (20 s to 30 s) is the last.
    expect(slow.handed.length).toBe(12)
    expect(await store.getRegulation(id)).toMatchObject({ status: 'RUNNING', counts: { destinationDeletes: 0 } })
    expect(warnings.join('\n')).toMatch(/could not renew its claim.*connection refused/)
    expect(warnings.join('\n')).toMatch(/claim lost.*no renewal succeeded/)
  })
})
