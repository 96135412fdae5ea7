import type { ResolvedStoreOptions } from '../options'
import {
  addCounts, checkNewRegulation, checkUpdate, claimUntil, emptyCounts, listLimit, newRegulationId, REGULATION_COLUMNS, regulationError, toRegulation, type RegulationRow
} from '../regulations'
import type { NewRegulation, Regulation, RegulationStatus, RegulationUpdate } from '../types'
import type { Queryable } from './context'

export async function createRegulation(db: Queryable, options: ResolvedStoreOptions, regulation: NewRegulation): Promise<Regulation> {
  const { type, subjectIds, origin } = checkNewRegulation(regulation)
  const { rows } = await db.query<RegulationRow>(
    `INSERT INTO regulations (id, type, subject_ids, status, origin, created_at, counts)
     VALUES ($1, $2, $3, 'RUNNING', $4, $5, $6) RETURNING ${REGULATION_COLUMNS}`,
    [newRegulationId(), type, JSON.stringify(subjectIds), origin, options.now(), JSON.stringify(emptyCounts())]
  )
  return toRegulation(rows[0])
}

export async function getRegulation(db: Queryable, id: string): Promise<Regulation | null> {
  if (typeof id !== 'string') return null
  const { rows } = await db.query<RegulationRow>(`SELECT ${REGULATION_COLUMNS} FROM regulations WHERE id = $1`, [id])
  return rows.length > 0 ? toRegulation(rows[0]) : null
}

export async function listRegulations(db: Queryable, query: { limit?: number; status?: RegulationStatus } = {}): Promise<Regulation[]> {
  const { rows } = await db.query<RegulationRow>(
    `SELECT ${REGULATION_COLUMNS} FROM regulations WHERE ($1::text IS NULL OR status = $1::text)
      ORDER BY created_at DESC, seq DESC LIMIT $2`,
    [query.status ?? null, listLimit(query.limit)]
  )
  return rows.map(toRegulation)
}

/** In a transaction: the row is locked while its counts are added to. */
export async function updateRegulation(client: Queryable, options: ResolvedStoreOptions, id: string, update: RegulationUpdate): Promise<void> {
  checkUpdate(update)
  const { rows } = await client.query<{ counts: string }>('SELECT counts FROM regulations WHERE id = $1 FOR UPDATE', [id])
  if (rows.length === 0) throw new Error(`regulation ${JSON.stringify(id)} does not exist; give the regulateId createRegulation returned`)
  const finishing = update.status === 'FINISHED' || update.status === 'FAILED'
  await client.query(
    `UPDATE regulations SET status = COALESCE($2, status), counts = $3,
       error = CASE WHEN $4 THEN $5 ELSE error END,
       finished_at = CASE WHEN $6 THEN $7 WHEN $2::text IS NOT NULL THEN NULL ELSE finished_at END,
       claim_owner = CASE WHEN $6 THEN NULL ELSE claim_owner END,
       claimed_until = CASE WHEN $6 THEN NULL ELSE claimed_until END
     WHERE id = $1`,
    [id, update.status ?? null, JSON.stringify(addCounts(JSON.parse(rows[0].counts), update.addCounts)), update.error !== undefined,
      regulationError(update.error), finishing, options.now()]
  )
}

/**
 * One statement: FOR UPDATE SKIP LOCKED keeps two instances off one row, and a row another
 * claimed meanwhile is checked again once its lock is free (and then no longer matches).
 */
export async function claimRegulations(db: Queryable, options: ResolvedStoreOptions, owner: string, claimMs: number, limit: number): Promise<Regulation[]> {
  const n = Math.max(0, Math.floor(Number.isFinite(limit) ? limit : 0))
  if (n === 0) return []
  const now = options.now()
  const { rows } = await db.query<RegulationRow>(
    `WITH picked AS (
       SELECT seq FROM regulations WHERE status = 'RUNNING' AND (claimed_until IS NULL OR claimed_until <= $1)
        ORDER BY created_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED
     )
     UPDATE regulations r SET claim_owner = $3, claimed_until = $4 FROM picked WHERE r.seq = picked.seq
     RETURNING r.seq, ${REGULATION_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}`,
    [now, n, owner, claimUntil(now, claimMs)]
  )
  return (rows as Array<RegulationRow & { seq: number }>)
    .sort((a, b) => Number(a.created_at) - Number(b.created_at) || a.seq - b.seq)
    .map(toRegulation)
}

/** One statement: a claim taken meanwhile holds the row's lock until it commits, then has changed the owner. */
export async function renewRegulationClaim(db: Queryable, options: ResolvedStoreOptions, id: string, owner: string, claimMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE regulations SET claimed_until = $3 WHERE id = $1 AND status = 'RUNNING' AND claim_owner = $2`,
    [id, owner, claimUntil(options.now(), claimMs)]
  )
  return (rowCount ?? 0) > 0
}

export async function releaseRegulationClaim(db: Queryable, id: string, owner: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE regulations SET claim_owner = NULL, claimed_until = NULL WHERE id = $1 AND status = 'RUNNING' AND claim_owner = $2`,
    [id, owner]
  )
  return (rowCount ?? 0) > 0
}
