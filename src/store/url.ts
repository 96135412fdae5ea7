/** Where a store lives, parsed from `CSB_RELAY_DB` / `--db`. */
export type StoreLocation =
  | { engine: 'sqlite'; path: string } // ':memory:' for a private in-memory database
  | { engine: 'postgres'; url: string; schema?: string }

/**
 * `./data/relay.db`, `sqlite:PATH`, `sqlite://PATH`, `:memory:`, `sqlite::memory:` → SQLite;
 * `postgres://...` / `postgresql://...` (optionally `?schema=NAME`) → PostgreSQL.
 */
export function parseStoreUrl(url: string): StoreLocation {
  const text = url.trim()
  if (text === '') throw new Error('store URL is empty: give a file path, sqlite:PATH or postgres://...')
  if (/^postgres(ql)?:\/\//i.test(text)) {
    const parsed = new URL(text)
    const schema = parsed.searchParams.get('schema') ?? undefined
    parsed.searchParams.delete('schema')
    return { engine: 'postgres', url: parsed.toString(), schema }
  }
  // sqlite://PATH as well as sqlite:PATH (so sqlite:///var/lib/relay.db is an absolute path).
  const path = text.startsWith('sqlite://') ? text.slice('sqlite://'.length) : text.startsWith('sqlite:') ? text.slice('sqlite:'.length) : text
  if (path === '') throw new Error(`store URL "${url}" has no path after sqlite:`)
  return { engine: 'sqlite', path }
}
