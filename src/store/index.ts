/**
 * The store: a durable, deduplicating queue ordered per key (see types.ts and docs/store.md).
 * `openStore` picks the engine from the URL. Also the worker-thread RPC every threaded part of
 * the relay uses (worker-rpc/), and the serialised forms events take between threads.
 */
import { resolveOptions } from './options'
import type { Store, StoreOptions } from './types'
import { parseStoreUrl } from './url'

export * from './types'
export { DEFAULT_DESTINATION, defaultStoreOptions } from './options'
export { parseStoreUrl, type StoreLocation } from './url'
export * from './worker-rpc'
export {
  deserialiseEvents, isOpaqueBatch, isSerialisedEvents, movableBuffers, serialiseEvents,
  type OpaqueBatch, type SerialisedEvents
} from './serialised'

/**
 * Opens (creating and migrating when needed) the store at `url`: a file path, `sqlite:PATH`,
 * `:memory:` / `sqlite::memory:` (tests), or `postgres://...` (`?schema=NAME` optional).
 * A SQLite file is served by a worker thread unless `sqliteInProcess` is set.
 */
export async function openStore(url: string, options: Partial<StoreOptions> = {}): Promise<Store> {
  const location = parseStoreUrl(url)
  const resolved = resolveOptions(options)
  // Each engine is loaded when first opened: a thread that imports the store only for its
  // worker RPC or serialised events (ingest's parse threads, delivery's workers) loads neither
  // better-sqlite3 nor pg.
  if (location.engine === 'sqlite') {
    if (location.path === ':memory:' || options.sqliteInProcess) {
      const { SqliteStore } = await import('./sqlite')
      return new SqliteStore(location.path, resolved)
    }
    // A file database runs in a worker thread (sqlite/proxy.ts) so commits never block the event loop.
    const { WorkerSqliteStore } = await import('./sqlite/proxy')
    return WorkerSqliteStore.open(location.path, resolved, options.now !== undefined)
  }
  const { PostgresStore } = await import('./postgres')
  return PostgresStore.open(location.url, { ...resolved, schema: resolved.schema ?? location.schema })
}
