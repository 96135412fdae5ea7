/**
 * The load the multi-instance tests send: users whose events carry a sequence number, posted in
 * batches by a few clients that alternate between instances. A batch counts as acknowledged only
 * when an instance answered it 2xx; a failed request is retried on an instance still alive.
 */
import { postBatch } from './http'

export interface LoadPlan {
  run: string
  users: number
  eventsPerUser: number
  /** Concurrent clients; user u belongs to client u % clients. */
  clients: number
  /** Pause between a client's batches, in ms (spreads the load over time). */
  pauseMs: number
}

export interface SentEvent {
  user: string
  seq: number
  messageId: string
  /** When an instance acknowledged it (Date.now()). */
  at: number
}

export const stepName = (seq: number) => `Step ${seq}`
export const userName = (run: string, u: number) => `${run}-user-${u}`

export function trackEvent(plan: LoadPlan, u: number, seq: number): Record<string, unknown> {
  return {
    type: 'track',
    messageId: `${plan.run}-${u}-${seq}`,
    userId: userName(plan.run, u),
    event: stepName(seq),
    properties: { account_id: `acc-${u % 16}`, seq },
    timestamp: new Date().toISOString()
  }
}

export interface LoadStats {
  acknowledged: SentEvent[]
  requests: number
  /** Requests that got no 2xx answer (and were retried). */
  failedRequests: number
  /** Requests waiting for an answer right now, by target URL. */
  inFlight: Map<string, number>
}

/**
 * Sends every user's events in sequence order: a client posts one batch holding the next event of
 * each of its users and waits for a 2xx before the next, so an event is stored before its
 * successor is sent. Client c's batch r goes to targets()[(c + r) % n] (alternating); a failure
 * is retried on the next live target after a short pause.
 */
export function sendLoad(plan: LoadPlan, writeKey: string, targets: () => string[]): { stats: LoadStats; done: Promise<LoadStats> } {
  const stats: LoadStats = { acknowledged: [], requests: 0, failedRequests: 0, inFlight: new Map() }
  const client = async (c: number) => {
    const users = Array.from({ length: plan.users }, (_, u) => u).filter((u) => u % plan.clients === c)
    for (let seq = 0; seq < plan.eventsPerUser; seq++) {
      const batch = users.map((u) => trackEvent(plan, u, seq))
      let attempt = 0
      for (;;) {
        const live = targets()
        if (live.length === 0) throw new Error('no relay instance left to send to')
        const target = live[(c + seq + attempt) % live.length]!
        stats.requests++
        stats.inFlight.set(target, (stats.inFlight.get(target) ?? 0) + 1)
        const status = await postBatch(target, writeKey, batch).finally(() => stats.inFlight.set(target, stats.inFlight.get(target)! - 1))
        if (status >= 200 && status < 300) break
        stats.failedRequests++
        if (++attempt > 50) throw new Error(`batch ${seq} of client ${c} failed ${attempt} times (last status ${status})`)
        await new Promise((r) => setTimeout(r, 50))
      }
      const at = Date.now()
      for (const u of users) stats.acknowledged.push({ user: userName(plan.run, u), seq, messageId: `${plan.run}-${u}-${seq}`, at })
      if (plan.pauseMs > 0) await new Promise((r) => setTimeout(r, plan.pauseMs))
    }
  }
  const done = Promise.all(Array.from({ length: plan.clients }, (_, c) => client(c))).then(() => stats)
  return { stats, done }
}
