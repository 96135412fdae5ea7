/**
 * The keys a config file may hold, at every depth, as one table: a key the table does not name is
 * refused at start (exit 2) with its path and the closest known key, so a typo such as
 * `sources[0].sharedSecrt` cannot leave a setting silently unset.
 *
 * The table says which keys exist, not what their values must be: the loader (config.ts) and the
 * modules it hands sections to check values, with messages about the value. To add a setting,
 * add its key here and read it in config.ts; the tuning sections (`ingest`, `delivery`, `store`)
 * take their keys from their defaults, so a new tuning number needs its default only.
 */

/** What the config file may hold at one place. */
export type Shape =
  /** A value whose keys, if any, are not ours to check here (a number, text, or a mapping's fields). */
  | { kind: 'value' }
  /** An object with these keys and no others. */
  | { kind: 'object'; keys: Readonly<Record<string, Shape>> }
  /** An array of items of one shape. */
  | { kind: 'list'; item: Shape }
  /** An object whose keys the user names (destination names, say), each value of one shape. */
  | { kind: 'map'; value: Shape }

export type ObjectShape = Extract<Shape, { kind: 'object' }>

export const value: Shape = { kind: 'value' }
export const object = (keys: Record<string, Shape>): ObjectShape => ({ kind: 'object', keys })
export const list = (item: Shape): Shape => ({ kind: 'list', item })
export const map = (of: Shape): Shape => ({ kind: 'map', value: of })
/** An object of plain values with these keys. */
export const values = (...keys: string[]): ObjectShape => object(Object.fromEntries(keys.map((key) => [key, value])))
/** A tuning section: the keys of its defaults. */
export const section = (defaults: object, ...extra: string[]): ObjectShape => values(...Object.keys(defaults), ...extra)

/** The defaults of the tuning sections, whose keys are the sections' keys. */
export interface TuningDefaults {
  ingest: object
  delivery: object
  store: object
}

/** Every key of the config file. */
export function configSchema(tuning: TuningDefaults): ObjectShape {
  return object({
    port: value,
    host: value,
    db: value,
    adminToken: value,
    logLevel: value,
    publicUrl: value,
    trustProxy: value,
    sources: list(values('name', 'writeKey', 'sharedSecret', 'acceptDeletions', 'maxEventsPerSecond', 'burstEvents')),
    csb: values('apiKey', 'baseUrl', 'authScheme', 'defaultProductId', 'defaultModuleId', 'prefixCustomTraits'),
    // A mapping's keys are the action's fields: delivery checks them against the action.
    subscriptions: list(object({ name: value, subscribe: value, partnerAction: value, mapping: value })),
    filters: list(values('name', 'if', 'drop', 'keep', 'block', 'allow')),
    // Keyed by destination name; each a list of consent categories (config-privacy.ts checks both).
    consent: map(value),
    // A destination's settings and mappings are its definition's fields: delivery checks them
    // against the definition (actions-core's schema validation) when it loads it.
    destinations: list(object({
      name: value,
      definition: value,
      settings: value,
      subscriptions: list(object({ name: value, subscribe: value, partnerAction: value, mapping: value })),
      filters: list(values('name', 'if', 'drop', 'keep', 'block', 'allow')),
      delivery: section(tuning.delivery)
    })),
    ingest: section(tuning.ingest),
    delivery: section(tuning.delivery),
    // The retentions in ms, kept beside store.retentionDays and store.deadLetterRetentionDays.
    store: section(tuning.store, 'retentionMs', 'deadLetterRetentionMs')
  })
}

/** The first key of `input` that `shape` does not name: its path and the message to show. */
export interface UnknownKey {
  /** `sources[0].sharedSecrt`. */
  path: string
  message: string
}

/** Finds the first unknown key, depth first in the file's order; undefined when every key is known. */
export function findUnknownKey(input: unknown, shape: Shape, path = ''): UnknownKey | undefined {
  if (shape.kind === 'value' || typeof input !== 'object' || input === null) return undefined
  if (shape.kind === 'list') {
    if (!Array.isArray(input)) return undefined
    for (let i = 0; i < input.length; i++) {
      const found = findUnknownKey(input[i], shape.item, `${path}[${i}]`)
      if (found) return found
    }
    return undefined
  }
  // A value of the wrong type (an array for an object) is the loader's to name, with its own message.
  if (Array.isArray(input)) return undefined
  for (const [key, inner] of Object.entries(input)) {
    const here = path === '' ? key : `${path}.${key}`
    if (shape.kind === 'map') {
      const found = findUnknownKey(inner, shape.value, here)
      if (found) return found
      continue
    }
    const known = shape.keys[key]
    if (known === undefined) return { path: here, message: unknownKeyMessage(here, key, Object.keys(shape.keys), path) }
    const found = findUnknownKey(inner, known, here)
    if (found) return found
  }
  return undefined
}

function unknownKeyMessage(path: string, key: string, known: string[], parent: string): string {
  const where = parent === '' ? 'at the top level' : `in "${parent}"`
  const closest = closestKey(key, known)
  const suggestion = closest === undefined ? '' : `did you mean "${closest}"? `
  return `unknown setting "${path}"; ${suggestion}Known ${where}: ${known.join(', ')}`
}

/**
 * The known key nearest to `key` by edit distance (letter case ignored), or undefined when none is
 * known. A key that is a known key cut short (`maxBatch`, `burst`) is measured against that key's
 * start, plus half an edit: people shorten long names more often than they mistype short ones.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const typed = key.toLowerCase()
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const name = candidate.toLowerCase()
    const whole = editDistance(typed, name)
    const distance = name.length > typed.length ? Math.min(whole, editDistance(typed, name.slice(0, typed.length)) + 0.5) : whole
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/**
 * Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`: the optimal
 * string alignment distance, so `sharedSecrte` is one edit from `sharedSecret`, as typed.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array<number>(rows * cols)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1)
      d[i * cols + j] = best
    }
  }
  return d[rows * cols - 1]!
}
