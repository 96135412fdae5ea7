import {
  addCounts, checkNewRegulation, checkUpdate, claimUntil, emptyCounts, listLimit, newRegulationId, REGULATION_COLUMNS, regulationError, toRegulation, type RegulationRow
} from '../regulations'
import { cleanOptional } from '../rows'
import type { NewRegulation, Regulation, RegulationStatus, RegulationUpdate } from '../types'
import type { SqliteContext } from './context'

export function createRegulation(ctx: SqliteContext, regulation: NewRegulation): Regulation {
  const { type, subjectIds, origin } = checkNewRegulation(regulation)
  const id = newRegulationId()
  ctx
    .q(
      `INSERT INTO regulations (id, type, subject_ids, status, origin, created_at, counts)
       VALUES (?, ?, ?, 'RUNNING', ?, ?, ?)`
    )
    .run(id, type, JSON.stringify(subjectIds), origin, ctx.options.now(), JSON.stringify(emptyCounts()))
  return getRegulation(ctx, id)!
}

export function getRegulation(ctx: SqliteContext, id: string): Regulation | null {
  if (typeof id !== 'string') return null
  const row = ctx.q<RegulationRow>(`SELECT ${REGULATION_COLUMNS} FROM regulations WHERE id = ?`).get(id)
  return row ? toRegulation(row) : null
}

export function listRegulations(ctx: SqliteContext, query: { limit?: number; status?: RegulationStatus } = {}): Regulation[] {
  return ctx
    .q<RegulationRow>(
      `SELECT ${REGULATION_COLUMNS} FROM regulations WHERE (? IS NULL OR status = ?) ORDER BY created_at DESC, seq DESC LIMIT ?`
    )
    .all(query.status ?? null, query.status ?? null, listLimit(query.limit))
    .map(toRegulation)
}

/** Counts are added to the stored ones; a finishing status sets finishedAt and lets the claim go. */
export function updateRegulation(ctx: SqliteContext, id: string, update: RegulationUpdate): void {
  checkUpdate(update)
  const row = ctx.q<{ counts: string }>('SELECT counts FROM regulations WHERE id = ?').get(id)
  if (!row) throw new Error(`regulation ${JSON.stringify(id)} does not exist; give the regulateId createRegulation returned`)
  const finishing = update.status === 'FINISHED' || update.status === 'FAILED'
  ctx
    .q(
      `UPDATE regulations SET status = COALESCE(?, status), counts = ?,
         error = CASE WHEN ? THEN ? ELSE error END,
         finished_at = CASE WHEN ? THEN ? WHEN ? IS NOT NULL THEN NULL ELSE finished_at END,
         claim_owner = CASE WHEN ? THEN NULL ELSE claim_owner END,
         claimed_until = CASE WHEN ? THEN NULL ELSE claimed_until END
       WHERE id = ?`
    )
    .run(
      update.status ?? null, JSON.stringify(addCounts(JSON.parse(row.counts), update.addCounts)),
      update.error !== undefined ? 1 : 0, regulationError(update.error),
      finishing ? 1 : 0, ctx.options.now(), update.status ?? null,
      finishing ? 1 : 0, finishing ? 1 : 0, id
    )
}

/** Inside a write, which no other connection can interleave with: the claim is exclusive. */
export function claimRegulations(ctx: SqliteContext, owner: string, claimMs: number, limit: number): Regulation[] {
  const n = Math.max(0, Math.floor(Number.isFinite(limit) ? limit : 0))
  if (n === 0) return []
  const now = ctx.options.now()
  const until = claimUntil(now, claimMs)
  const rows = ctx
    .q<RegulationRow & { seq: number }>(
      `SELECT seq, ${REGULATION_COLUMNS} FROM regulations INDEXED BY regulations_running
        WHERE status = 'RUNNING' AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY created_at, seq LIMIT ?`
    )
    .all(now, n)
  const claim = ctx.q('UPDATE regulations SET claim_owner = ?, claimed_until = ? WHERE seq = ?')
  for (const row of rows) claim.run(cleanOptional(owner), until, row.seq)
  return rows.map(toRegulation)
}

/** Inside a write, as claims are: a claim taken meanwhile has changed the owner and the row no longer matches. */
export function renewRegulationClaim(ctx: SqliteContext, id: string, owner: string, claimMs: number): boolean {
  const { changes } = ctx
    .q(`UPDATE regulations SET claimed_until = ? WHERE id = ? AND status = 'RUNNING' AND claim_owner = ?`)
    .run(claimUntil(ctx.options.now(), claimMs), id, cleanOptional(owner))
  return changes > 0
}

export function releaseRegulationClaim(ctx: SqliteContext, id: string, owner: string): boolean {
  const { changes } = ctx
    .q(`UPDATE regulations SET claim_owner = NULL, claimed_until = NULL WHERE id = ? AND status = 'RUNNING' AND claim_owner = ?`)
    .run(id, cleanOptional(owner))
  return changes > 0
}
