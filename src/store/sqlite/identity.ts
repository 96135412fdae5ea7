import { cleanText } from '../rows'
import type { IdentityLink, NameAdmission } from '../types'
import type { SqliteContext } from './context'

/** Last write wins, also within one call. */
export function linkIdentities(ctx: SqliteContext, links: IdentityLink[]): void {
  const now = ctx.options.now()
  const upsert = ctx.q(
    `INSERT INTO identities (user_key, account_id, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (user_key) DO UPDATE SET account_id = excluded.account_id, updated_at = excluded.updated_at`
  )
  for (const link of links) upsert.run(cleanText(link.userKey), cleanText(link.accountId), now)
}

export function accountsFor(ctx: SqliteContext, userKeys: string[]): Map<string, string> {
  const found = new Map<string, string>()
  const select = ctx.q<{ account_id: string }>('SELECT account_id FROM identities WHERE user_key = ?')
  for (const key of new Set(userKeys)) {
    const row = select.get(cleanText(key))
    if (row) found.set(key, row.account_id)
  }
  return found
}

export function getMeta(ctx: SqliteContext, key: string): string | null {
  return ctx.q<{ value: string }>('SELECT value FROM meta WHERE key = ?').get(cleanText(key))?.value ?? null
}

/** Inside a write transaction, which holds the write lock: no other connection can insert between. */
export function setMetaIfAbsent(ctx: SqliteContext, key: string, value: string): string {
  ctx.q('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(cleanText(key), cleanText(value))
  return getMeta(ctx, key)!
}

export function setMeta(ctx: SqliteContext, key: string, value: string): void {
  ctx.q('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(cleanText(key), cleanText(value))
}

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
