/**
 * Finding the Actions definition a `destinations` entry names: a folder of
 * @segment/action-destinations (`webhook`), its slug (`actions-webhook`), or a path to a local
 * module exporting a DestinationDefinition (in-house destinations). Only the one folder named is
 * loaded: the package's index loads all of its ~220 definitions and their SDKs.
 *
 * @segment/action-destinations is not a dependency of the relay (README, "Destinations beside
 * CSB"): it is looked up only when a destination names one of its definitions, and a missing
 * package is an error naming the npm command that installs it.
 */
import fs from 'node:fs'
import path from 'node:path'

/** The version the relay is tested with (package.json's devDependencies pin the same). */
export const ACTION_DESTINATIONS_VERSION = '3.497.0'
export const INSTALL_HINT = `npm install @segment/action-destinations@${ACTION_DESTINATIONS_VERSION}`

/** The parts of a DestinationDefinition the relay reads before it runs one. */
export interface LoadedDefinition {
  name: string
  slug?: string
  mode?: string
  authentication?: { scheme?: string; fields?: Record<string, { type?: string; required?: boolean }> }
  actions: Record<string, { perform?: unknown; performBatch?: unknown; fields?: Record<string, unknown>; [k: string]: unknown }>
  presets?: Array<{ name?: string; subscribe?: string; partnerAction: string; mapping?: Record<string, unknown>; type?: string }>
  [key: string]: unknown
}

export class DefinitionError extends Error {
  override name = 'DefinitionError'
}

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || /\.(c?js|ts)$/.test(spec) || spec.includes(path.sep)
}

/** The package's `dist/destinations` folder, or null when the package is not installed. */
function catalogFolder(paths: string[]): string | null {
  try {
    const pkg = require.resolve('@segment/action-destinations/package.json', { paths })
    return path.join(path.dirname(pkg), 'dist', 'destinations')
  } catch {
    return null
  }
}

/** The folder whose definition has this slug: read as text, so that only the one found is loaded. */
function folderOfSlug(catalog: string, slug: string): string | null {
  const quoted = new RegExp(`\\bslug:\\s*['"]${slug.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]`)
  for (const folder of fs.readdirSync(catalog)) {
    const index = path.join(catalog, folder, 'index.js')
    let text: string
    try {
      text = fs.readFileSync(index, 'utf8')
    } catch {
      continue
    }
    if (quoted.test(text)) return folder
  }
  return null
}

function definitionOf(mod: unknown): LoadedDefinition | null {
  const candidate = (mod as { default?: unknown })?.default ?? mod
  const d = candidate as Partial<LoadedDefinition> | null
  if (!d || typeof d !== 'object' || typeof d.name !== 'string' || !d.actions || typeof d.actions !== 'object') return null
  return d as LoadedDefinition
}

/**
 * Loads the definition `spec` names, from `cwd` for a path. Throws DefinitionError naming what
 * was looked for, where, and the fix. The package is looked for from `cwd` and from the relay's
 * own folder (`searchFrom`, which a test narrows to show the error of a missing package).
 */
export function loadDefinition(spec: string, cwd: string, searchFrom: string[] = [cwd, __dirname]): LoadedDefinition {
  let file: string
  if (looksLikePath(spec)) {
    file = path.resolve(cwd, spec)
    if (!fs.existsSync(file)) throw new DefinitionError(`definition ${JSON.stringify(spec)}: no file at ${file}; give a path (relative to the working directory) to a module exporting a DestinationDefinition`)
  } else {
    const catalog = catalogFolder(searchFrom)
    if (!catalog) {
      throw new DefinitionError(`definition ${JSON.stringify(spec)} comes from @segment/action-destinations, which is not installed; install it with: ${INSTALL_HINT}`)
    }
    const folder = fs.existsSync(path.join(catalog, spec, 'index.js')) ? spec : folderOfSlug(catalog, spec)
    if (!folder) {
      throw new DefinitionError(
        `definition ${JSON.stringify(spec)} is neither a folder of @segment/action-destinations (${catalog}) nor the slug of one; use a folder name such as "webhook" or a slug such as "actions-webhook"`
      )
    }
    file = path.join(catalog, folder)
  }
  let mod: unknown
  try {
    mod = require(file)
  } catch (err) {
    throw new DefinitionError(`definition ${JSON.stringify(spec)} could not be loaded from ${file}: ${(err as Error).message}`)
  }
  const definition = definitionOf(mod)
  if (!definition) throw new DefinitionError(`definition ${JSON.stringify(spec)} (${file}) does not export a DestinationDefinition (an object with "name" and "actions") as its default export`)
  return definition
}

/**
 * Why the relay cannot run this definition, or null. OAuth needs a token flow through Segment's
 * app (the relay has no place to run it, nor to refresh tokens); device-mode definitions run in the
 * browser (analytics.js), not on a server.
 */
export function refusal(definition: LoadedDefinition): string | null {
  const scheme = definition.authentication?.scheme
  if (scheme === 'oauth2' || scheme === 'oauth-managed') {
    return `it authenticates with OAuth ("${scheme}"), whose token flow runs in Segment's app; the relay has no way to obtain or refresh the tokens`
  }
  if (definition.mode === 'device') return 'it is a browser (device-mode) destination; it runs inside analytics.js, not on a server'
  const runnable = Object.values(definition.actions).some((a) => typeof a?.perform === 'function' || typeof a?.performBatch === 'function')
  if (!runnable) return 'none of its actions has a perform function the relay could run on a server'
  return null
}
