/**
 * The files of analytics.js as the installed `@segment/analytics-next` package ships them
 * (`dist/umd/`): the standalone build, its lazily loaded chunks, their source maps and the
 * gzip copy of each. They are read from the package, never copied into this repository, so an
 * `npm update` of the package is all it takes to serve a newer analytics.js.
 *
 * Each file is read once, on its first request, and kept with its ETag (a digest of its bytes).
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

export interface FileVariant {
  body: Buffer
  etag: string
}

export interface AnalyticsFile {
  /** The name in the package's `dist/umd/` folder. */
  name: string
  contentType: string
  /** Hashed chunk names change with their content, so they may be cached for good. */
  immutable: boolean
  identity: FileVariant
  /** The package's `.gz` copy, when it ships one. */
  gzip?: FileVariant
}

const STANDALONE = 'standalone.js'

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8'
}

/** `<chunk>.bundle.<content hash>.js` and its map: webpack puts the hash of the content in the name. */
const HASHED_CHUNK = /^[\w-]+\.bundle\.[0-9a-f]{8,}\.js(\.map)?$/

/** The installed package's `dist/umd/` folder. */
export function umdFolder(): string {
  return path.join(path.dirname(require.resolve('@segment/analytics-next/package.json')), 'dist', 'umd')
}

export class AnalyticsFiles {
  /** Names that may be served: a file is looked up only by one of these. */
  private readonly names: ReadonlySet<string>
  private readonly loaded = new Map<string, Promise<AnalyticsFile>>()

  constructor(private readonly folder = umdFolder()) {
    const listing = fs.readdirSync(folder)
    this.names = new Set(listing.filter((name) => name === STANDALONE || name === `${STANDALONE}.map` || HASHED_CHUNK.test(name)))
    if (!this.names.has(STANDALONE)) {
      throw new Error(`@segment/analytics-next has no ${STANDALONE} in ${folder}; reinstall it (npm install)`)
    }
  }

  /** The standalone build: what `<script src=".../analytics.min.js">` loads. */
  standalone(): Promise<AnalyticsFile> {
    return this.get(STANDALONE)!
  }

  /** The standalone build's source map, when the package ships it. */
  standaloneMap(): Promise<AnalyticsFile> | undefined {
    return this.get(`${STANDALONE}.map`)
  }

  /** A hashed chunk or its map; undefined for any other name (a path, `..`, the main file). */
  chunk(name: string): Promise<AnalyticsFile> | undefined {
    return HASHED_CHUNK.test(name) ? this.get(name) : undefined
  }

  private get(name: string): Promise<AnalyticsFile> | undefined {
    if (!this.names.has(name)) return undefined
    let file = this.loaded.get(name)
    if (!file) {
      file = this.load(name)
      // A failed read is not kept: the next request tries again.
      file.catch(() => this.loaded.delete(name))
      this.loaded.set(name, file)
    }
    return file
  }

  private async load(name: string): Promise<AnalyticsFile> {
    const full = path.join(this.folder, name)
    const body = await fs.promises.readFile(full)
    const gz = await fs.promises.readFile(`${full}.gz`).catch(() => undefined)
    return {
      name,
      contentType: CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream',
      immutable: HASHED_CHUNK.test(name),
      identity: { body, etag: etagOf(body) },
      gzip: gz ? { body: gz, etag: etagOf(gz) } : undefined
    }
  }
}

function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
}
