import { cleanText } from '../rows'
import type { IdentityLink } from '../types'
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
