/**
 * The store: a durable, deduplicating queue ordered per key (see types.ts and docs/store.md).
 * `openStore` picks the engine from the URL.
 */
import { resolveOptions } from './options'
import { PostgresStore } from './postgres'
import { SqliteStore } from './sqlite'
import { WorkerSqliteStore } from './sqlite/proxy'
import type { Store, StoreOptions } from './types'
import { parseStoreUrl } from './url'

export * from './types'
export { defaultStoreOptions } from './options'
export { parseStoreUrl, type StoreLocation } from './url'

/**
 * Opens (creating and migrating when needed) the store at `url`: a file path, `sqlite:PATH`,
 * `:memory:` / `sqlite::memory:` (tests), or `postgres://...` (`?schema=NAME` optional).
 * A SQLite file is served by a worker thread unless `sqliteInProcess` is set.
 */
export async function openStore(url: string, options: Partial<StoreOptions> = {}): Promise<Store> {
  const location = parseStoreUrl(url)
  const resolved = resolveOptions(options)
  if (location.engine === 'sqlite') {
    // A file database runs in a worker thread (sqlite/proxy.ts) so commits never block the event loop.
    if (location.path === ':memory:' || options.sqliteInProcess) return new SqliteStore(location.path, resolved)
    return WorkerSqliteStore.open(location.path, resolved, options.now !== undefined)
  }
  return PostgresStore.open(location.url, { ...resolved, schema: resolved.schema ?? location.schema })
}
