import type { ResolvedStoreOptions } from '../options'
import type { IdentityLink } from '../types'
import type { Queryable } from './context'

/** Last write wins, also within one call. */
export async function linkIdentities(client: Queryable, options: ResolvedStoreOptions, links: IdentityLink[]): Promise<void> {
  const last = new Map<string, string>()
  for (const link of links) last.set(link.userKey, link.accountId)
  await client.query(
    `INSERT INTO identities (user_key, account_id, updated_at)
     SELECT user_key, account_id, $3 FROM unnest($1::text[], $2::text[]) AS t(user_key, account_id) ORDER BY user_key COLLATE "C"
     ON CONFLICT (user_key) DO UPDATE SET account_id = EXCLUDED.account_id, updated_at = EXCLUDED.updated_at`,
    [[...last.keys()], [...last.values()], options.now()]
  )
}

export async function accountsFor(pool: Queryable, userKeys: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>()
  if (userKeys.length === 0) return found
  const { rows } = await pool.query<{ user_key: string; account_id: string }>(
    'SELECT user_key, account_id FROM identities WHERE user_key = ANY($1::text[])',
    [[...new Set(userKeys)]]
  )
  for (const row of rows) found.set(row.user_key, row.account_id)
  return found
}
