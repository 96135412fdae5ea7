/**
 * The claim a regulation runner holds on the regulation it works on (regulations.ts). Claims are
 * short so that a regulation left by a crashed instance is taken up soon; the runner renews its
 * claim while it works, so a long run (many deletions handed to destinations) keeps it, and
 * lets it go when it stops half-way, so another instance takes it up at once.
 */
import type { StoreRegulations } from '../store/types'

/**
 * How long a claim holds a regulation without a renewal: how long a regulation whose instance
 * crashed waits before another instance takes it up. Renewed every third of it while running,
 * so two renewals may fail (a store hiccup) before the claim runs out.
 */
export const REGULATION_CLAIM_MS = 60_000

export interface RunnerLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface HeldClaimOptions {
  store: Pick<StoreRegulations, 'renewRegulationClaim' | 'releaseRegulationClaim'>
  /** The regulation's id. */
  id: string
  owner: string
  claimMs: number
  logger: RunnerLogger
  /** When the claim was asked for (Date.now()): it holds at least until claimMs after. */
  claimedAt: number
}

/**
 * Renews the claim every third of `claimMs` until `end`. `lost` turns true when a renewal finds
 * another holder (or the regulation no longer RUNNING), or when no renewal has succeeded for a
 * whole `claimMs` and none is waiting for its answer (the store refuses them): another instance
 * may hold it by then.
 */
export class HeldClaim {
  private isLost = false
  private ended = false
  private heldSince: number
  private renewing: Promise<void> | undefined
  private readonly timer: NodeJS.Timeout

  constructor(private readonly options: HeldClaimOptions) {
    this.heldSince = options.claimedAt
    this.timer = setInterval(() => this.renew(), Math.max(1, Math.floor(options.claimMs / 3)))
    this.timer.unref()
  }

  get lost(): boolean {
    // Judged by time only while no renewal is waiting for its answer: a store that holds every
    // write back for longer than a claim (SQLite's VACUUM during a purge) holds back the other
    // instances' claims too, and the renewal's answer then says whether this one still holds it.
    if (!this.isLost && !this.renewing && Date.now() - this.heldSince >= this.options.claimMs) this.lose('no renewal succeeded for as long as a claim lasts')
    return this.isLost
  }

  private lose(why: string): void {
    this.isLost = true
    clearInterval(this.timer)
    this.options.logger.warn({ regulation: this.options.id, reason: why }, 'regulation: claim lost')
  }

  private renew(): void {
    if (this.renewing || this.ended || this.lost) return
    const { store, id, owner, claimMs, logger } = this.options
    this.renewing = store
      .renewRegulationClaim(id, owner, claimMs)
      .then(
        (held) => {
          if (this.ended) return
          // The renewal is conditional on this owner, so a success means nobody took the claim
          // meanwhile, however long the answer took; it holds from about now (the store applied
          // it just before answering).
          if (held) this.heldSince = Date.now()
          else this.lose('another instance claimed it, or it is no longer RUNNING')
        },
        (err: Error) => {
          logger.warn({ regulation: id, err: err.message }, 'regulation: could not renew its claim; trying again')
        }
      )
      .finally(() => {
        this.renewing = undefined
      })
  }

  /** Stops renewing; with `release`, lets the claim go (when still held) so any instance may take the regulation at once. */
  async end(release: boolean): Promise<void> {
    this.ended = true
    clearInterval(this.timer)
    await this.renewing
    if (!release || this.isLost) return
    const { store, id, owner, logger } = this.options
    await store.releaseRegulationClaim(id, owner).catch((err: Error) =>
      logger.warn({ regulation: id, err: err.message }, 'regulation: could not release its claim; another instance takes it up when the claim runs out')
    )
  }
}
