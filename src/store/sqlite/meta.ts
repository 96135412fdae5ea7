import { cleanText } from '../rows'
import type { SqliteContext } from './context'

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
