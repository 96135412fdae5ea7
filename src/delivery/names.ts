/**
 * CSB keeps at most 256 distinct feature names and 256 distinct module names per instance
 * (spec, "Ids"): an unbounded event name (one per order number, say) would use them up. Before
 * a feature request is sent, the guard checks its `module_id` and `feature_id` (which requests and
 * fields these are, the destination says: `isFeatureRequest`, `FEATURE_NAME_FIELDS`):
 * - a name the relay has sent before passes at once (kept in memory);
 * - a new name is admitted through the store (`admitNames`: one count per kind, shared by every
 *   thread and every instance on the database) while fewer than the limit are known;
 * - beyond the limit the request is not sent: the event is dead-lettered with a NameLimitError
 *   that names the field, the name, the setting and the fix. After the fix, replay sends it.
 * The relay counts only the names it has sent; names sent to CSB by other means are not known
 * to it (lower the limit to leave room for them). A limit of 0 turns the guard off for that kind.
 */
import { CSB_MAX_DISTINCT_NAMES, FEATURE_NAME_FIELDS, isFeatureRequest } from '../destination'
import type { NameAdmission } from '../store/types'

export type NameKind = 'feature' | 'module'

/** Most distinct names per kind (0 = no limit). */
export type NameLimits = Record<NameKind, number>

/** Asks the store (or, in a worker thread, the main thread) to admit names; see `Store.admitNames`. */
export type AdmitNames = (kind: NameKind, names: string[], limit: number) => Promise<NameAdmission>

/** Checks a request before it is sent: undefined when it may go now, else a promise that settles when it may (or rejects). */
export type RequestGuard = (url: string, body: unknown) => Promise<void> | undefined

const FIELD: Record<NameKind, string> = FEATURE_NAME_FIELDS
const SETTING: Record<NameKind, string> = { module: 'delivery.maxDistinctModules', feature: 'delivery.maxDistinctFeatures' }
/** Modules first: a refused module then leaves the feature name unused rather than counted. */
const KINDS: readonly NameKind[] = ['module', 'feature']

/** The name itself is not in the message: dead letters are grouped by reason, and every refused name would make a group of its own. */
export class NameLimitError extends Error {
  override name = 'NameLimitError'
  constructor(
    readonly kind: NameKind,
    readonly value: string,
    readonly limit: number
  ) {
    super(
      `${FIELD[kind]} is a ${kind} name not sent before, and the relay has already sent ${limit} distinct ${kind} names to CSB, its limit ` +
        `(${SETTING[kind]} = ${limit}; CSB keeps at most ${CSB_MAX_DISTINCT_NAMES} ${kind}s per instance); the request was not sent. Fix: send fewer ` +
        `distinct ${kind}s (map ${FIELD[kind]} to a fixed name or to a property with few values in a subscription mapping, or ` +
        `drop such events with a filter), or raise ${SETTING[kind]} if your CSB instance keeps more; then replay the dead letters`
    )
  }
}

/** The store could not be asked: retried like a network error (our failure, not the event's). */
export class NameCheckError extends Error {
  override name = 'NameCheckError'
  readonly code = 'RETRYABLE_ERROR'
  constructor(kind: NameKind, cause: unknown) {
    super(`could not check the ${kind} name with the store: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

interface Waiting {
  name: string
  resolve(): void
  reject(error: unknown): void
}

export interface NameStats {
  /** Names known to be stored (the store's count at the last answer, at least those this process saw). */
  known: number
  limit: number
}

export class NameGuard {
  private readonly known: Record<NameKind, Set<string>> = { module: new Set(), feature: new Set() }
  private readonly counts: Record<NameKind, number> = { module: 0, feature: 0 }
  /** New names asked for in this turn, sent to the store together at its end (one call per kind). */
  private readonly queued: Record<NameKind, Waiting[]> = { module: [], feature: [] }
  private readonly asked = new Map<string, Promise<void>>()
  private flushScheduled = false

  constructor(
    private readonly admit: AdmitNames,
    readonly limits: NameLimits
  ) {}

  /** Names the store already holds (read at start), so that they pass without asking it. */
  preload(kind: NameKind, names: string[]): void {
    for (const name of names) this.known[kind].add(name)
    this.counts[kind] = Math.max(this.counts[kind], names.length)
  }

  /** A RequestGuard (see capture.ts): feature requests wait for their names to be admitted. */
  readonly check: RequestGuard = (url, body) => {
    if (!isFeatureRequest(url) || !body || typeof body !== 'object') return undefined
    const unknown: Array<[NameKind, string]> = []
    for (const kind of KINDS) {
      const value = (body as Record<string, unknown>)[FIELD[kind]]
      if (typeof value !== 'string' || value === '' || this.limits[kind] <= 0 || this.known[kind].has(value)) continue
      unknown.push([kind, value])
    }
    if (unknown.length === 0) return undefined
    // In order: when the module is refused, the feature is not asked for (and not counted).
    const [first, second] = unknown
    const asked = this.ask(first[0], first[1])
    return second ? asked.then(() => this.ask(second[0], second[1])) : asked
  }

  /** Admits names for another guard (a worker thread's), noting the answer here too: stats() covers every thread. */
  readonly admitFor: AdmitNames = async (kind, names, limit) => {
    const admission = await this.admit(kind, names, limit)
    this.note(kind, names, admission)
    return admission
  }

  private note(kind: NameKind, names: string[], admission: NameAdmission): void {
    this.counts[kind] = Math.max(this.counts[kind], admission.count)
    if (admission.refused.length === names.length) return
    const refused = new Set(admission.refused)
    for (const name of names) if (!refused.has(name)) this.known[kind].add(name)
  }

  stats(): Record<NameKind, NameStats> {
    return {
      module: { known: this.counts.module, limit: this.limits.module },
      feature: { known: this.counts.feature, limit: this.limits.feature }
    }
  }

  private ask(kind: NameKind, name: string): Promise<void> {
    const key = `${kind}\u0000${name}`
    let answer = this.asked.get(key)
    if (!answer) {
      answer = new Promise<void>((resolve, reject) => this.queued[kind].push({ name, resolve, reject }))
      this.asked.set(key, answer)
      // Asked once per name at a time; a refusal is asked again next time (a restart may raise the limit).
      answer.then(
        () => this.asked.delete(key),
        () => this.asked.delete(key)
      )
      if (!this.flushScheduled) {
        this.flushScheduled = true
        setImmediate(() => this.flush())
      }
    }
    return answer
  }

  private flush(): void {
    this.flushScheduled = false
    for (const kind of KINDS) {
      const waiting = this.queued[kind].splice(0)
      if (waiting.length === 0) continue
      const limit = this.limits[kind]
      const names = waiting.map((w) => w.name)
      this.admit(kind, names, limit).then(
        (admission) => {
          this.note(kind, names, admission)
          const refused = new Set(admission.refused)
          for (const w of waiting) {
            if (refused.has(w.name)) w.reject(new NameLimitError(kind, w.name, limit))
            else w.resolve()
          }
        },
        (error) => {
          const failure = new NameCheckError(kind, error)
          for (const w of waiting) w.reject(failure)
        }
      )
    }
  }
}
