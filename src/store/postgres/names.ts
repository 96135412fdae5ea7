import { cleanText } from '../rows'
import type { NameAdmission } from '../types'
import type { Queryable } from './context'

/**
 * Inside a transaction holding an advisory lock per kind, so that instances admitting at once
 * take turns: the count read here cannot change before the inserts commit.
 */
export async function admitNames(client: Queryable, kind: string, names: string[], limit: number, nowMs: number): Promise<NameAdmission> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('csb-relay:names:' || $1))`, [kind])
  const { rows } = await client.query<{ name: string }>('SELECT name FROM csb_names WHERE kind = $1', [kind])
  const known = new Set(rows.map((r) => r.name))
  let count = known.size
  const refused: string[] = []
  const fresh: string[] = []
  for (const raw of names) {
    const name = cleanText(raw)
    if (known.has(name)) continue
    if (count >= limit) {
      refused.push(raw)
      continue
    }
    known.add(name)
    fresh.push(name)
    count++
  }
  if (fresh.length > 0) {
    await client.query(
      'INSERT INTO csb_names (kind, name, admitted_at, seq) SELECT $1, name, $2, $3 + ord - 1 FROM unnest($4::text[]) WITH ORDINALITY AS t(name, ord)',
      [kind, nowMs, count - fresh.length, fresh]
    )
  }
  return { refused, count }
}

export async function listNames(pool: Queryable, kind: string): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>('SELECT name FROM csb_names WHERE kind = $1 ORDER BY seq', [kind])
  return rows.map((r) => r.name)
}
