/**
 * `waitForRequests`: promises that resolve once the recording holds enough requests (to a path).
 * Each waiter's count of matching requests is kept up to date as requests arrive, so waiting
 * costs O(1) per request instead of a scan of the recording.
 */
import type { Recorder } from './recorder'
import type { RecordedRequest } from './types'

const DEFAULT_TIMEOUT_MS = 10_000

interface Waiter {
  count: number
  path?: string
  seen: number
  resolve: (requests: RecordedRequest[]) => void
}

export class RequestWaiters {
  private waiters: Waiter[] = []

  constructor(private readonly recorder: Recorder) {}

  wait(count: number, { path, timeoutMs = DEFAULT_TIMEOUT_MS }: { path?: string; timeoutMs?: number } = {}): Promise<RecordedRequest[]> {
    const found = this.matching(path)
    if (found.length >= count) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        const seen = this.matching(path).length
        reject(new Error(`sandbox: waited ${timeoutMs} ms for ${count} request(s)${path ? ` to ${path}` : ''}, saw ${seen}`))
      }, timeoutMs)
      const waiter: Waiter = {
        count,
        path,
        seen: found.length,
        resolve: (requests) => {
          clearTimeout(timer)
          resolve(requests)
        }
      }
      this.waiters.push(waiter)
    })
  }

  /** Counts a newly recorded request; resolves the waiters it completes. */
  notify(record: RecordedRequest): void {
    if (this.waiters.length === 0) return
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.path !== undefined && waiter.path !== record.path) return true
      if (++waiter.seen < waiter.count) return true
      waiter.resolve(this.matching(waiter.path))
      return false
    })
  }

  /** The recording was cleared: everyone waiting counts from zero again. */
  restart(): void {
    for (const waiter of this.waiters) waiter.seen = 0
  }

  private matching(path: string | undefined): RecordedRequest[] {
    return this.recorder.list(path === undefined ? {} : { path })
  }
}
