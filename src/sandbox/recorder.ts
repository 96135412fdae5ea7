import type { RecordedRequest, RequestFilter } from './types'

/**
 * Every CSB-side request in arrival order, in a ring of at most `limit` entries: recording is
 * O(1) however many are kept, and `since` finds its start by arithmetic on `seq`.
 */
export class Recorder {
  private ring: RecordedRequest[] = []
  /** Index in `ring` of the oldest entry once the ring is full. */
  private head = 0
  private lastSeq = 0

  constructor(private readonly limit: number) {}

  /** Numbers the request (seq) and keeps it; seqs in the ring are consecutive. */
  add(request: RecordedRequest): void {
    request.seq = ++this.lastSeq
    if (this.ring.length < this.limit) {
      this.ring.push(request)
      return
    }
    this.ring[this.head] = request
    this.head = (this.head + 1) % this.limit
  }

  get size(): number {
    return this.ring.length
  }

  clear(): void {
    this.ring = []
    this.head = 0
  }

  list(filter: RequestFilter = {}): RecordedRequest[] {
    const size = this.ring.length
    let start = 0
    if (filter.since !== undefined && size > 0) {
      const oldestSeq = this.ring[this.head].seq
      start = Math.max(0, Math.min(size, Math.floor(filter.since) - oldestSeq + 1))
    }
    const out: RecordedRequest[] = []
    const limit = filter.limit ?? Infinity
    for (let i = start; i < size && out.length < limit; i++) {
      const entry = this.ring[(this.head + i) % size]
      if (filter.path === undefined || entry.path === filter.path) out.push(entry)
    }
    return out
  }
}
