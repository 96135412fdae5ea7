import type { ResolvedStoreOptions } from '../options'
import { Tally } from '../tally'
import { cleanText } from '../rows'
import type { IdentityLink, NameAdmission } from '../types'
import { PRUNE_CHUNK } from '../rows'
import { writeTally, type Queryable } from './context'

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

export async function getMeta(pool: Queryable, key: string): Promise<string | null> {
  const { rows } = await pool.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])
  return rows.length > 0 ? rows[0].value : null
}

/** One statement: on a conflict the row already there is returned (the update changes nothing), and PostgreSQL makes a concurrent insert of the same key wait for the first to commit. */
export async function setMetaIfAbsent(pool: Queryable, key: string, value: string): Promise<string> {
  const { rows } = await pool.query<{ value: string }>(
    'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = meta.value RETURNING value',
    [key, value]
  )
  return rows[0].value
}

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

export async function setMeta(pool: Queryable, key: string, value: string): Promise<void> {
  await pool.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, value])
}

/** One chunk of `prune`, as the SQLite engine's (see sqlite/prune.ts). */
export async function pruneChunk(client: Queryable, options: ResolvedStoreOptions, nowMs: number, first: boolean): Promise<{ deleted: number; more: boolean }> {
  const cutoff = nowMs - options.retentionMs
  const tally = new Tally()
  let deleted = 0
  let more = false
  for (const status of ['delivered', 'skipped'] as const) {
    const { rowCount } = await client.query(
      `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE status = '${status}' AND finished_at < $1 LIMIT ${PRUNE_CHUNK})`,
      [cutoff]
    )
    const n = rowCount ?? 0
    tally.total(status, -n)
    deleted += n
    more ||= n === PRUNE_CHUNK
  }
  if (first) await client.query('DELETE FROM outcome_counts WHERE minute < $1', [cutoff])
  const { rowCount } = await client.query(
    `DELETE FROM dedupe WHERE (source, message_id) IN (SELECT source, message_id FROM dedupe WHERE seen_at <= $1 LIMIT ${PRUNE_CHUNK})`,
    [nowMs - options.dedupeWindowMs]
  )
  more ||= rowCount === PRUNE_CHUNK
  await writeTally(client, tally)
  return { deleted, more }
}
