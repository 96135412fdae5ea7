/**
 * Dotted paths into an event (`traits.email`, `properties.address.city`) and the two edits made
 * with them: removing the listed keys (block) and keeping only the listed keys (allow).
 *
 * Both edits are copy-on-write: the input is never mutated, objects on the way to a change are
 * shallow-copied, and everything else is shared. When nothing changes, the input comes back as
 * it is, so a filter that finds nothing to remove costs no allocation. A path that meets an
 * array applies to each element of it (`properties.products.sku` reaches every product).
 */

/** A trie of path segments; LEAF marks the end of a listed path (that key, whole). */
export const LEAF = true
export type PathNode = Map<string, PathNode | typeof LEAF>

export class PathError extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string
  ) {
    super(problem)
  }
}

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key)

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Splits and checks the shape of a path; roots are checked by the caller. */
export function splitPath(path: unknown): string[] {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new PathError(`${JSON.stringify(path) ?? String(path)} is not a path`, 'write a dotted path as a string, e.g. "traits.email"')
  }
  if (/[[\]]/.test(path)) {
    throw new PathError(`"${path}" uses brackets`, `write the path without an index: it then applies to every element of an array, e.g. "${path.replace(/\[[^\]]*\]/g, '')}"`)
  }
  const segments = path.split('.')
  if (segments.some((s) => s === '' || s.trim() !== s)) {
    throw new PathError(`"${path}" has an empty key or spaces around a dot`, 'separate keys with single dots, e.g. "properties.address.city"')
  }
  if (segments.includes('__proto__')) throw new PathError(`"${path}" names __proto__`, 'remove that key from the path')
  return segments
}

/** Adds a path to a trie; a shorter path covers a longer one below it. */
export function addPath(root: PathNode, segments: string[]): void {
  let node = root
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1
    const existing = node.get(segment)
    if (existing === LEAF) return
    if (last) {
      node.set(segment, LEAF)
      return
    }
    let child = existing
    if (!child) {
      child = new Map()
      node.set(segment, child)
    }
    node = child
  })
}

/** `value` with every path of `node` removed (arrays: from each element). Same reference if nothing was there. */
export function removePaths(value: unknown, node: PathNode): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const edited = removePaths(value[i], node)
      if (edited !== value[i]) (out ??= value.slice())[i] = edited
    }
    return out ?? value
  }
  if (!isPlainObject(value)) return value
  let out: Record<string, unknown> | undefined
  for (const key of node.keys()) {
    if (!hasOwn(value, key)) continue
    const child = node.get(key)!
    if (child === LEAF) {
      out = without(out ?? value, key)
    } else {
      const next = removePaths(value[key], child)
      if (next !== value[key]) {
        // Assigning an existing key of a copy keeps V8's fast object shape (unlike `delete`).
        out ??= { ...value }
        out[key] = next
      }
    }
  }
  return out ?? value
}

/** A shallow copy of `value` without `key` (rest destructuring: fast, and copies own `__proto__` keys as data). */
function without(value: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _removed, ...rest } = value
  return rest
}

/**
 * `value` reduced to the paths of `node`. Keys not listed are dropped; a listed key's value is
 * kept whole when the path ends there, or reduced further when it goes on (and dropped when it
 * goes on but the value is not an object or array). Same reference if nothing was dropped.
 */
export function pickPaths(value: unknown, node: PathNode): unknown {
  if (Array.isArray(value)) {
    let changed = false
    const out: unknown[] = []
    for (const element of value) {
      if (!isPlainObject(element) && !Array.isArray(element)) {
        changed = true
        continue
      }
      const picked = pickPaths(element, node)
      if (picked !== element) changed = true
      out.push(picked)
    }
    return changed ? out : value
  }
  if (!isPlainObject(value)) return value
  let changed = false
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const child = node.get(key)
    const current = value[key]
    if (child === undefined) {
      changed = true
    } else if (child === LEAF) {
      out[key] = current
    } else if (isPlainObject(current) || Array.isArray(current)) {
      const picked = pickPaths(current, child)
      if (picked !== current) changed = true
      out[key] = picked
    } else {
      changed = true
    }
  }
  return changed ? out : value
}

/** Reads `segments` from `value` (objects only), or undefined. */
export function getPath(value: unknown, segments: string[]): unknown {
  let current = value
  for (const segment of segments) {
    if (!isPlainObject(current) || !hasOwn(current, segment)) return undefined
    current = current[segment]
  }
  return current
}

/** `value` with `segments` set to `replacement`, copying each object on the way; the input is untouched. */
export function setPath(value: Record<string, unknown>, segments: string[], replacement: unknown): Record<string, unknown> {
  const [head, ...rest] = segments
  const out = { ...value }
  out[head] = rest.length === 0 ? replacement : setPath(value[head] as Record<string, unknown>, rest, replacement)
  return out
}
