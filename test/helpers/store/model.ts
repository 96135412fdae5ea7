/**
 * Model-based test: random sequences of store operations, checked step by step against a small
 * in-memory reference of the ordering and lease rules (docs/store.md). Run by the conformance
 * suite on every engine.
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import type { LeasedEvent, Store } from '../../../src/store/types'

type Op =
  | { kind: 'enqueue'; keys: number[] }
  | { kind: 'lease'; limit: number; leaseMs: number }
  | { kind: 'settle'; pick: number; outcome: 'complete' | 'retry' | 'dead' | 'skip'; retryMs: number; withLease: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'extend'; pick: number; ms: number }
  | { kind: 'replay' }

export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('enqueue' as const), keys: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('lease' as const), limit: fc.integer({ min: 1, max: 3 }), leaseMs: fc.constantFrom(1000, 5000) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      pick: fc.nat(),
      outcome: fc.constantFrom('complete' as const, 'retry' as const, 'dead' as const, 'skip' as const),
      retryMs: fc.constantFrom(0, 500, 3000),
      withLease: fc.boolean()
    })
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(100, 1000, 4000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), pick: fc.nat(), ms: fc.constantFrom(0, 2000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const) }) }
)

interface ModelEvent {
  key: string
  status: 'pending' | 'delivered' | 'dead' | 'skipped'
  attempts: number
  runAt: number
}

/** The reference: what the rules say the store must do. */
class Model {
  events = new Map<string, ModelEvent>()
  leases = new Map<string, { eventId: string; until: number; token: string }>()

  private head(key: string): string | undefined {
    let best: string | undefined
    for (const [id, e] of this.events) if (e.key === key && e.status === 'pending' && (best === undefined || Number(id) < Number(best))) best = id
    return best
  }

  /** Ids the store must hand out, in no particular order. */
  expectedLease(now: number, limit: number): string[] {
    const keys = new Set([...this.events.values()].filter((e) => e.status === 'pending').map((e) => e.key))
    const due: Array<{ ready: number; head: string }> = []
    for (const key of keys) {
      const head = this.head(key)!
      const lease = this.leases.get(key)
      const ready = lease ? lease.until : this.events.get(head)!.runAt
      if (ready <= now) due.push({ ready, head })
    }
    due.sort((a, b) => a.ready - b.ready || Number(a.head) - Number(b.head))
    return due.slice(0, limit).map((d) => d.head)
  }

  leased(events: LeasedEvent[]): void {
    for (const e of events) {
      this.events.get(e.id)!.attempts++
      this.leases.set(e.orderingKey, { eventId: e.id, until: e.leasedUntil.getTime(), token: e.leaseId! })
    }
  }

  settle(id: string, leaseId: string | undefined, status: ModelEvent['status'], runAt: number): void {
    const e = this.events.get(id)
    if (!e || e.status !== 'pending') return
    const lease = this.leases.get(e.key)
    const holds = lease?.eventId === id
    if (leaseId !== undefined && !(holds && lease!.token === leaseId)) return
    if (holds) this.leases.delete(e.key)
    e.status = status
    if (status === 'pending') e.runAt = runAt
  }
}

export async function runModel(store: Store, clock: { ms: number; advance(ms: number): void }, ops: Op[]): Promise<void> {
  const model = new Model()
  const held: LeasedEvent[] = []
  let n = 0
  for (const op of ops) {
    switch (op.kind) {
      case 'enqueue': {
        const results = await store.enqueue(
          op.keys.map((k) => {
            const messageId = `model-${++n}`
            return { source: 'm', messageId, orderingKey: `k${k}`, type: 'track', event: { type: 'track', messageId }, receivedAt: new Date(clock.ms) }
          })
        )
        results.forEach((r, i) => model.events.set(r.id, { key: `k${op.keys[i]}`, status: 'pending', attempts: 0, runAt: clock.ms }))
        break
      }
      case 'lease': {
        const expected = model.expectedLease(clock.ms, op.limit)
        const got = await store.lease({ limit: op.limit, leaseMs: op.leaseMs, owner: 'model' })
        expect(got.map((e) => e.id).sort()).toEqual([...expected].sort())
        model.leased(got)
        for (const e of got) expect(e.attempts).toBe(model.events.get(e.id)!.attempts)
        held.push(...got)
        break
      }
      case 'settle': {
        if (held.length === 0) break
        const [e] = held.splice(op.pick % held.length, 1)
        const leaseId = op.withLease ? e.leaseId : undefined
        const base = { id: e.id, leaseId }
        if (op.outcome === 'complete') await store.complete([base])
        else if (op.outcome === 'dead') await store.deadLetter([{ ...base, reason: 'model' }])
        else if (op.outcome === 'skip') await store.skip([{ ...base, reason: 'model' }])
        else await store.retryLater([{ ...base, runAt: new Date(clock.ms + op.retryMs), error: 'model' }])
        const status = { complete: 'delivered', dead: 'dead', skip: 'skipped', retry: 'pending' } as const
        model.settle(e.id, leaseId, status[op.outcome], clock.ms + op.retryMs)
        break
      }
      case 'advance':
        clock.advance(op.ms)
        break
      case 'extend': {
        if (held.length === 0) break
        const e = held[op.pick % held.length]
        await store.extendLease([e.id], op.ms)
        const ev = model.events.get(e.id)!
        const lease = model.leases.get(ev.key)
        if (ev.status === 'pending' && lease?.eventId === e.id) lease.until = clock.ms + op.ms
        break
      }
      case 'replay': {
        const count = await store.replay({ all: true })
        let expected = 0
        for (const e of model.events.values()) {
          if (e.status !== 'dead') continue
          expected++
          Object.assign(e, { status: 'pending', attempts: 0, runAt: clock.ms })
        }
        expect(count).toBe(expected)
        break
      }
    }
    const counts = await store.counts()
    const events = [...model.events.values()]
    const inFlight = [...model.leases.values()].filter((l) => l.until > clock.ms).length
    expect(counts.delivered).toBe(events.filter((e) => e.status === 'delivered').length)
    expect(counts.dead).toBe(events.filter((e) => e.status === 'dead').length)
    expect(counts.skipped).toBe(events.filter((e) => e.status === 'skipped').length)
    expect(counts.inFlight).toBe(inFlight)
    expect(counts.pending + counts.retrying + counts.inFlight).toBe(events.filter((e) => e.status === 'pending').length)
  }
}
