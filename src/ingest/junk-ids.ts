/**
 * Junk identifiers: what a client sends in an id field when its code had no id to send, most
 * often a language's "no value" turned into text (`String(undefined)`, `${user?.id}`,
 * `str(None)`, `"" + {}`). Taken as ids, every such event of every user lands on one CSB user
 * (named "undefined") and merges with the rest. They count as absent instead: ingest removes
 * them from the stored event and keeps what was sent beside it, in `context.csbRelay.junkIds`
 * (path → value), so the ordering key, the identity map and the destination never see them, and
 * delivery can name the value when an event is left without an id (docs/ingest.md).
 *
 * The list is deliberately short: only values no system hands out as a real id. `0`, `anonymous`
 * or `guest` are left alone: odd, but some system may mean them.
 */
/** Compared after trimming and lower-casing; blank text counts too. */
const JUNK_VALUES: ReadonlySet<string> = new Set([
  // "no value" in JavaScript, SQL/Java/C#, Ruby/Go/Lua, Python
  'undefined', 'null', 'nil', 'none',
  // numbers gone wrong
  'nan', 'infinity', '-infinity',
  // a flag where the id should be
  'true', 'false'
])

/** `[object Object]`, `[object Undefined]`...: a JavaScript value stringified by Object.prototype.toString. */
const STRINGIFIED_OBJECT = /^\[object [a-z]+\]$/

/** Longest junk value: anything longer is not looked at further. */
const LONGEST = 24

/**
 * First characters of junk, lower-cased the cheap way (`| 0x20`, which also turns `[` into `{`):
 * most ids fail this test and are never trimmed or lower-cased, on every event of every batch.
 */
const FIRST_CHARACTERS: ReadonlySet<number> = new Set([...JUNK_VALUES, '['].map((text) => text.charCodeAt(0) | 0x20))

/** True when `value` is text that only stands in for a missing id. */
export function isJunkId(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > LONGEST) return false
  const first = value.charCodeAt(0)
  // Blank text, or text with spaces around, goes the long way.
  if (value.length > 0 && first > 0x20 && !FIRST_CHARACTERS.has(first | 0x20)) return false
  const text = value.trim().toLowerCase()
  return text === '' || JUNK_VALUES.has(text) || STRINGIFIED_OBJECT.test(text)
}

/**
 * Where ids are looked for: Segment's own, and the CSB user and account ids the destination's
 * default mappings read (src/destination/*: `user_id` / `account_id` in traits, properties and
 * context.traits). Each path is one or two keys deep.
 */
export const ID_PATHS: ReadonlyArray<readonly [string] | readonly [string, string] | readonly [string, string, string]> = [
  ['userId'], ['anonymousId'], ['groupId'], ['previousId'],
  ['traits', 'user_id'], ['traits', 'account_id'],
  ['properties', 'user_id'], ['properties', 'account_id'],
  ['context', 'traits', 'user_id'], ['context', 'traits', 'account_id']
]

type Bag = Record<string, unknown>

const isBag = (value: unknown): value is Bag => typeof value === 'object' && value !== null && !Array.isArray(value)

function valueAt(event: Bag, path: readonly string[]): unknown {
  let node: unknown = event
  for (const key of path) {
    if (!isBag(node) || !Object.hasOwn(node, key)) return undefined
    node = node[key]
  }
  return node
}

const NONE: ReadonlyArray<never> = Object.freeze([])

/** The junk ids of an event, with their paths (`traits.user_id`); empty when it has none. */
export function junkIdsOf(event: Bag): ReadonlyArray<{ path: readonly string[]; value: string }> {
  let found: Array<{ path: readonly string[]; value: string }> | undefined
  for (const path of ID_PATHS) {
    const value = valueAt(event, path)
    if (isJunkId(value)) (found ??= []).push({ path, value })
  }
  return found ?? NONE
}


/** A copy of `bag` without `path` (the objects along it copied, the rest shared). */
function without(bag: Bag, path: readonly string[]): Bag {
  const [key, ...rest] = path as [string, ...string[]]
  if (rest.length === 0) {
    const { [key]: _removed, ...kept } = bag
    return kept
  }
  const inner = bag[key]
  return isBag(inner) ? { ...bag, [key]: without(inner, rest) } : bag
}

/**
 * The event without its junk ids, and what they were (for `context.csbRelay.junkIds`); the event
 * itself when it has none. The caller's objects are not changed.
 */
export function withoutJunkIds<E extends Bag>(event: E): { event: E; junk: Record<string, string> | undefined } {
  const found = junkIdsOf(event)
  if (found.length === 0) return { event, junk: undefined }
  let cleaned: Bag = event
  for (const { path } of found) cleaned = without(cleaned, path)
  return { event: cleaned as E, junk: Object.fromEntries(found.map(({ path, value }) => [path.join('.'), value])) }
}
