/**
 * The samples kept with an event's outcome (the event as received is the stored event itself):
 * the request sent to CSB (Authorization redacted) and CSB's response, or the network error.
 * One subscription: `{ request, response }` as they are; several: arrays, one entry per request.
 * `completedSubscriptions` remembers, across retries, which subscriptions already succeeded.
 */
import type { DeliverySamples } from '../store/types'
import type { AttemptResult } from './attempt'

export interface RelaySamples extends DeliverySamples {
  completedSubscriptions?: string[]
}

function errorSample(error: unknown): { error: string } {
  const err = error as { name?: string; message?: string; code?: string } | undefined
  return { error: `${err?.name ?? 'Error'}${err?.code ? ` ${err.code}` : ''}: ${err?.message ?? String(error)}` }
}

export function samplesOf(attempt: AttemptResult, completed: string[]): RelaySamples | null {
  const exchanges = attempt.results.flatMap((r) =>
    r.exchanges.map((x, i) => ({
      request: x.request,
      response: x.response ?? (r.error && i === r.exchanges.length - 1 ? errorSample(r.error) : null)
    }))
  )
  const failedWithoutRequest = attempt.failed && attempt.failed.exchanges.length === 0 ? errorSample(attempt.failed.error) : null
  const samples: RelaySamples = {}
  if (exchanges.length === 1) {
    samples.request = exchanges[0].request
    samples.response = exchanges[0].response
  } else if (exchanges.length > 1) {
    samples.request = exchanges.map((x) => x.request)
    samples.response = exchanges.map((x) => x.response)
  }
  if (failedWithoutRequest) samples.response = failedWithoutRequest
  if (completed.length > 0 && attempt.failed) samples.completedSubscriptions = completed
  return samples.request !== undefined || samples.response !== undefined || samples.completedSubscriptions ? samples : null
}

export function completedSubscriptions(samples: DeliverySamples | null): string[] {
  const list = (samples as RelaySamples | null)?.completedSubscriptions
  return Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string') : []
}
