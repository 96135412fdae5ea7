import { cleanText } from '../rows'
import type { NameAdmission } from '../types'
import type { SqliteContext } from './context'

/** Inside a write transaction (the write lock): the count read here cannot change before the inserts. */
export function admitNames(ctx: SqliteContext, kind: string, names: string[], limit: number): NameAdmission {
  const k = cleanText(kind)
  const known = ctx.q<{ one: number }>('SELECT 1 AS one FROM csb_names WHERE kind = ? AND name = ?')
  const insert = ctx.q('INSERT INTO csb_names (kind, name, admitted_at, seq) VALUES (?, ?, ?, ?)')
  let count = ctx.q<{ n: number }>('SELECT count(*) AS n FROM csb_names WHERE kind = ?').get(k)!.n
  const refused: string[] = []
  const now = ctx.options.now()
  for (const raw of names) {
    const name = cleanText(raw)
    if (known.get(k, name)) continue
    if (count >= limit) {
      refused.push(raw)
      continue
    }
    insert.run(k, name, now, count)
    count++
  }
  return { refused, count }
}

export function listNames(ctx: SqliteContext, kind: string): string[] {
  return ctx.q<{ name: string }>('SELECT name FROM csb_names WHERE kind = ? ORDER BY seq').all(cleanText(kind)).map((r) => r.name)
}
