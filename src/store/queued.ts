import type { EnqueueResult, QueuedSummary } from './types'

/** Builds the per-type summary of one move into the queue from its events' types and results. */
export function summariseQueued(types: readonly string[], results: readonly EnqueueResult[]): QueuedSummary {
  const byType = new Map<string, QueuedSummary[number]>()
  for (let i = 0; i < results.length; i++) {
    const type = types[i]!
    let entry = byType.get(type)
    if (!entry) byType.set(type, (entry = { type, queued: 0, duplicates: 0 }))
    if (results[i]!.suppressed) entry.suppressed = (entry.suppressed ?? 0) + 1
    else if (results[i]!.duplicate) entry.duplicates++
    else entry.queued++
  }
  return [...byType.values()]
}

/** The `onQueued` listeners of one store. A listener that throws does not stop the others. */
export class QueuedListeners {
  private readonly listeners = new Set<(summary: QueuedSummary) => void>()

  add(listener: (summary: QueuedSummary) => void): () => void {
    // A wrapper per call, so the same function added twice is called twice and removed once.
    const entry = (summary: QueuedSummary) => listener(summary)
    this.listeners.add(entry)
    return () => void this.listeners.delete(entry)
  }

  emit(summary: QueuedSummary): void {
    if (summary.length === 0) return
    for (const listener of this.listeners) {
      try {
        listener(summary)
      } catch {
        // A listener's failure is its own; the events are queued either way.
      }
    }
  }
}
