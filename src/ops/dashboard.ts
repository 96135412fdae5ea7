/**
 * `GET /` and `GET /assets/<file>`: the dashboard, static files from `public/` next to this
 * module (the build copies them into dist). The page carries no data and loads without the
 * admin token; everything it shows comes from `/api/`, which requires the token when one is set.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'

/** Scripts and styles from this relay only, none inline; the page may talk to this relay and nothing else. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

export const DASHBOARD_DIR = path.join(__dirname, 'public')
/** Where the page's scripts and stylesheet are served; the page itself is `/`. */
export const ASSETS_PREFIX = '/assets/'
const PAGE = 'index.html'

/** The only kinds of file served; anything else in the folder (such as a type declaration) is not. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8'
}

interface Asset {
  body: Buffer
  contentType: string
}

/** The folder's files, read once: a few kilobytes, and a missing file fails at start, not on a click. */
export function readDashboardFiles(dir = DASHBOARD_DIR): Map<string, Asset> {
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch (err) {
    throw new Error(`the dashboard's files are missing (${(err as Error).message}): run "npm run build", which copies src/ops/public to dist/ops/public`)
  }
  const files = new Map<string, Asset>()
  for (const name of names.sort()) {
    const contentType = CONTENT_TYPES[path.extname(name)]
    if (contentType) files.set(name, { body: fs.readFileSync(path.join(dir, name)), contentType })
  }
  if (!files.has(PAGE)) throw new Error(`the dashboard's ${PAGE} is missing from ${dir}: run "npm run build"`)
  return files
}

function send(reply: FastifyReply, asset: Asset): Buffer {
  reply
    .header('content-type', asset.contentType)
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
  return asset.body
}

export const dashboardPlugin: FastifyPluginAsync = async (app) => {
  const files = readDashboardFiles()
  const page = files.get(PAGE) as Asset
  app.get('/', async (_request, reply) => send(reply, page))
  for (const [name, asset] of files) {
    if (name !== PAGE) app.get(`${ASSETS_PREFIX}${name}`, async (_request, reply) => send(reply, asset))
  }
}
