/**
 * An in-memory StoreRegulations for unit tests of what runs regulations (ops): records, claims,
 * the suppression list; purgeUsers reports what `purged` says and records the calls. Not a second
 * engine: the engines' own behaviour is tested by the store's conformance suite.
 */
import type { LeasesTaken, NewRegulation, PurgeResult, Regulation, RegulationCounts, RegulationUpdate, StoreRegulations } from '../../src/store/types'

export interface FakeRegulations extends StoreRegulations {
  regulations: Map<string, Regulation>
  suppressedIds: Set<string>
  /** userIds of each purgeUsers call. */
  purges: string[][]
  /** What each purgeUsers call answers. */
  purged: PurgeResult
  /** What each suppress call answers besides the ids added (leases it took from other owners). */
  suppressTook: LeasesTaken
  /** Who holds each claimed regulation, until when (ms). */
  claims: Map<string, { owner: string; until: number }>
  /** When set, the named verb rejects with it. */
  fail: Partial<Record<'suppress' | 'unsuppress' | 'purgeUsers' | 'claimRegulations' | 'renewRegulationClaim' | 'releaseRegulationClaim', Error>>
  dropped: number
}

const zero = (): RegulationCounts => ({
  suppressed: 0, unsuppressed: 0, events: 0, admittedEvents: 0, identityLinks: 0, destinationDeletes: 0, destinationDeleteFailures: 0
})

export function fakeRegulations(now: () => number = Date.now): FakeRegulations {
  let next = 1
  const copy = (r: Regulation): Regulation => ({ ...r, subjectIds: [...r.subjectIds], counts: { ...r.counts } })
  const fake: FakeRegulations = {
    regulations: new Map(),
    suppressedIds: new Set(),
    purges: [],
    purged: { events: 0, admittedEvents: 0, identityLinks: 0 },
    suppressTook: {},
    claims: new Map(),
    fail: {},
    dropped: 0,
    async createRegulation(r: NewRegulation) {
      const regulation: Regulation = {
        id: `reg-${next++}`, type: r.type, subjectType: 'USER_ID', subjectIds: [...r.subjectIds], status: 'RUNNING', origin: r.origin,
        createdAt: new Date(now()), finishedAt: null, counts: zero(), error: null
      }
      fake.regulations.set(regulation.id, regulation)
      return copy(regulation)
    },
    async getRegulation(id) {
      const r = fake.regulations.get(id)
      return r ? copy(r) : null
    },
    async listRegulations(query = {}) {
      return [...fake.regulations.values()].reverse().filter((r) => !query.status || r.status === query.status).slice(0, query.limit ?? 50).map(copy)
    },
    async updateRegulation(id, update: RegulationUpdate) {
      const r = fake.regulations.get(id)
      if (!r) throw new Error(`no regulation ${id}`)
      if (update.addCounts) for (const [k, v] of Object.entries(update.addCounts)) r.counts[k as keyof RegulationCounts] += v ?? 0
      if (update.error !== undefined) r.error = update.error
      if (update.status) {
        r.status = update.status
        if (update.status !== 'RUNNING') {
          r.finishedAt = new Date(now())
          fake.claims.delete(id)
        }
      }
    },
    async claimRegulations(owner, claimMs, limit) {
      if (fake.fail.claimRegulations) throw fake.fail.claimRegulations
      const out: Regulation[] = []
      for (const r of fake.regulations.values()) {
        if (out.length >= limit) break
        const claim = fake.claims.get(r.id)
        if (r.status !== 'RUNNING' || (claim && claim.until > now())) continue
        fake.claims.set(r.id, { owner, until: now() + claimMs })
        out.push(copy(r))
      }
      return out
    },
    async renewRegulationClaim(id, owner, claimMs) {
      if (fake.fail.renewRegulationClaim) throw fake.fail.renewRegulationClaim
      const claim = fake.claims.get(id)
      if (fake.regulations.get(id)?.status !== 'RUNNING' || claim?.owner !== owner) return false
      claim.until = now() + claimMs
      return true
    },
    async releaseRegulationClaim(id, owner) {
      if (fake.fail.releaseRegulationClaim) throw fake.fail.releaseRegulationClaim
      if (fake.regulations.get(id)?.status !== 'RUNNING' || fake.claims.get(id)?.owner !== owner) return false
      return fake.claims.delete(id)
    },
    async suppress(userIds) {
      if (fake.fail.suppress) throw fake.fail.suppress
      let added = 0
      for (const id of userIds) if (!fake.suppressedIds.has(id)) (fake.suppressedIds.add(id), added++)
      return { added, ...fake.suppressTook }
    },
    async unsuppress(userIds) {
      if (fake.fail.unsuppress) throw fake.fail.unsuppress
      let removed = 0
      for (const id of userIds) if (fake.suppressedIds.delete(id)) removed++
      return removed
    },
    async suppressedAmong(userIds) {
      return new Set(userIds.filter((id) => fake.suppressedIds.has(id)))
    },
    async suppressedEvents() {
      return fake.dropped
    },
    async purgeUsers(userIds) {
      if (fake.fail.purgeUsers) throw fake.fail.purgeUsers
      fake.purges.push([...userIds])
      return { ...fake.purged }
    }
  }
  return fake
}
