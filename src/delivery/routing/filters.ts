/**
 * Destination filters: the `filters` array of the config file, parsed and compiled once.
 *
 *   {"name": "no internal", "drop": "properties.internal = true"}
 *   {"name": "tracks only", "keep": "type = \"track\""}
 *   {"name": "no PII", "block": ["traits.email", "context.traits.phone"], "if": "type = \"identify\""}
 *   {"name": "plan only", "allow": ["properties.plan", "properties.account_id"]}
 *
 * Each rule has exactly one of drop / keep / block / allow, an optional name, and (block and
 * allow only) an optional FQL condition `if`. Any mistake throws RoutingConfigError naming the
 * rule and the fix.
 */
import { compileFql, FqlError, type EventPredicate } from './fql'
import { addPath, getPath, PathError, pickPaths, removePaths, setPath, splitPath, type PathNode } from './paths'

export class RoutingConfigError extends Error {
  override name = 'RoutingConfigError'
}

type Event = Record<string, unknown>

/** A filter's verdict that the event is not delivered; made once per filter, at start. */
export class Skip {
  constructor(readonly reason: string) {}
}

/** What one compiled filter does to an event: a (possibly new) event, or a Skip. */
export type FilterStep = (event: Event) => Event | Skip

export interface CompiledFilter {
  /** `filter "no internal" (#1)` or `filter #1` when unnamed. */
  label: string
  /** One line for logs: `#1 "no internal": drop properties.internal = true`. */
  summary: string
  apply: FilterStep
}

const KINDS = ['drop', 'keep', 'block', 'allow'] as const
type Kind = (typeof KINDS)[number]
const KNOWN_KEYS = new Set<string>([...KINDS, 'name', 'if'])
const BLOCK_ROOTS = new Set(['properties', 'traits', 'context'])

const EXAMPLES: Record<Kind, string> = {
  drop: '{"drop": "properties.internal = true"}',
  keep: '{"keep": "type = \\"track\\""}',
  block: '{"block": ["traits.email", "context.traits.phone"]}',
  allow: '{"allow": ["properties.plan", "traits.name"]}'
}

class RuleProblem extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string
  ) {
    super(problem)
  }
}

export function compileFilters(rules: unknown[] | undefined): CompiledFilter[] {
  if (rules === undefined || rules === null) return []
  if (!Array.isArray(rules)) {
    throw new RoutingConfigError(`"filters" must be an array of filter rules. Fix: write "filters": [${EXAMPLES.drop}, ...] (see docs/routing.md)`)
  }
  return rules.map((rule, index) => {
    const who = ruleName(rule, index)
    try {
      return compileRule(rule, index)
    } catch (err) {
      if (err instanceof RuleProblem) throw new RoutingConfigError(`${who}: ${err.problem}. Fix: ${err.fix}.`)
      throw err
    }
  })
}

function ruleName(rule: unknown, index: number): string {
  const name = isObject(rule) && typeof rule.name === 'string' && rule.name !== '' ? ` "${rule.name}"` : ''
  return `filter #${index + 1}${name} (filters[${index}])`
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function compileRule(rule: unknown, index: number): CompiledFilter {
  if (!isObject(rule)) throw new RuleProblem(`it is ${JSON.stringify(rule)}, not an object`, `write an object such as ${EXAMPLES.drop}`)
  for (const key of Object.keys(rule)) {
    if (!KNOWN_KEYS.has(key)) throw new RuleProblem(`unknown key "${key}"`, `a rule has one of ${KINDS.map((k) => `"${k}"`).join(', ')}, an optional "name" and (block/allow) an optional "if"`)
  }
  const kinds = KINDS.filter((k) => rule[k] !== undefined)
  if (kinds.length !== 1) {
    if (kinds.length === 0) throw new RuleProblem('it has none of "drop", "keep", "block", "allow"', `give it one, e.g. ${EXAMPLES.drop}`)
    throw new RuleProblem(`it has ${kinds.map((k) => `"${k}"`).join(' and ')}; a rule has only one`, 'split it into one rule per kind, in the order they should apply')
  }
  if (rule.name !== undefined && (typeof rule.name !== 'string' || rule.name === '')) {
    throw new RuleProblem('"name" must be non-empty text', 'name the rule, e.g. "name": "no internal"')
  }
  const kind = kinds[0]
  const name = rule.name as string | undefined
  const label = name ? `filter "${name}" (#${index + 1})` : `filter #${index + 1}`
  const summaryHead = `#${index + 1}${name ? ` "${name}"` : ''}`

  if (kind === 'drop' || kind === 'keep') {
    if (rule.if !== undefined) throw new RuleProblem(`"if" does not apply to "${kind}"`, `put the whole condition in "${kind}"`)
    const text = rule[kind]
    const matches = condition(text, kind)
    const summary = `${summaryHead}: ${kind} ${text as string}`
    if (kind === 'drop') {
      const dropped = new Skip(`${label} dropped the event`)
      return { label, summary, apply: (event) => (matches(event) ? dropped : event) }
    }
    const notKept = new Skip(`${label} did not keep the event: it does not match ${text as string}`)
    return { label, summary, apply: (event) => (matches(event) ? event : notKept) }
  }

  const when = rule.if === undefined ? undefined : condition(rule.if, 'if')
  const paths = pathList(rule[kind], kind)
  const edit = kind === 'block' ? compileBlock(paths) : compileAllow(paths)
  const summary = `${summaryHead}: ${kind} ${paths.join(', ')}${when ? ` if ${rule.if as string}` : ''}`
  return { label, summary, apply: when ? (event) => (when(event) ? edit(event) : event) : edit }
}

const CONDITION_EXAMPLES: Record<string, string> = { drop: 'properties.internal = true', keep: 'type = "track"', if: 'type = "identify"' }

function condition(text: unknown, key: 'drop' | 'keep' | 'if'): EventPredicate {
  if (typeof text !== 'string') {
    throw new RuleProblem(`"${key}" must be an FQL condition as text, got ${JSON.stringify(text)}`, `write e.g. "${key}": ${JSON.stringify(CONDITION_EXAMPLES[key])}`)
  }
  try {
    return compileFql(text)
  } catch (err) {
    if (err instanceof FqlError) throw new RuleProblem(`"${key}" is not valid FQL (${text}): ${err.problem}`, err.fix)
    throw err
  }
}

function pathList(value: unknown, kind: 'block' | 'allow'): string[] {
  if (!Array.isArray(value)) throw new RuleProblem(`"${kind}" must be a list of paths`, `write e.g. ${EXAMPLES[kind]}`)
  if (value.length === 0) throw new RuleProblem(`"${kind}" is an empty list`, `list at least one path, e.g. ${EXAMPLES[kind]}, or remove the rule`)
  return value.map((path, i) => {
    try {
      checkRoot(splitPath(path), kind)
    } catch (err) {
      if (err instanceof PathError) throw new RuleProblem(`"${kind}"[${i}] ${err.problem}`, err.fix)
      throw err
    }
    return path as string
  })
}

function checkRoot(segments: string[], kind: 'block' | 'allow'): void {
  const path = segments.join('.')
  if (kind === 'block') {
    if (!BLOCK_ROOTS.has(segments[0])) throw new PathError(`"${path}" is outside properties, traits and context`, `start the path with properties., traits. or context., e.g. "traits.${segments[segments.length - 1]}"`)
    if (segments.length < 2) throw new PathError(`"${path}" names a whole ${segments[0]} object`, `name the keys to remove, e.g. "${segments[0]}.email"`)
    return
  }
  const container = containerOf(segments)
  if (!container) {
    throw new PathError(`"${path}" is outside properties, traits and context.traits`, `an allow list keeps keys of properties, traits or context.traits; start the path with one of them${segments[0] === 'context' ? ', or use "block" for other context fields' : ''}`)
  }
  if (segments.length <= container.length) throw new PathError(`"${path}" names a whole object`, `name the keys to keep, e.g. "${path}.plan"`)
}

/** properties / traits / context.traits: the objects an allow list reduces. */
function containerOf(segments: string[]): string[] | undefined {
  if (segments[0] === 'properties' || segments[0] === 'traits') return segments.slice(0, 1)
  if (segments[0] === 'context' && segments[1] === 'traits') return segments.slice(0, 2)
  return undefined
}

function compileBlock(paths: string[]): FilterStep {
  const trie: PathNode = new Map()
  for (const path of paths) addPath(trie, path.split('.'))
  return (event) => removePaths(event, trie) as Event
}

/** Within each container the list names, only the listed keys survive; other containers are untouched. */
function compileAllow(paths: string[]): FilterStep {
  const containers = new Map<string, { segments: string[]; trie: PathNode }>()
  for (const path of paths) {
    const segments = path.split('.')
    const container = containerOf(segments)!
    const key = container.join('.')
    let entry = containers.get(key)
    if (!entry) containers.set(key, (entry = { segments: container, trie: new Map() }))
    addPath(entry.trie, segments.slice(container.length))
  }
  const entries = [...containers.values()]
  return (event) => {
    let out = event
    for (const { segments, trie } of entries) {
      const current = getPath(out, segments)
      if (typeof current !== 'object' || current === null || Array.isArray(current)) continue
      const picked = pickPaths(current, trie)
      if (picked !== current) out = setPath(out, segments, picked)
    }
    return out
  }
}
