/**
 * FQL conditions for destination filters, compiled once at start.
 *
 * Evaluation is the engine actions-core runs for subscriptions (`@segment/destination-subscriptions`'
 * `parseFql` + `validate`, as `parseFql` + `matchesFql` from ../actions-core.ts), so a condition
 * means the same in a filter as in a subscription. That parser is lenient: it silently ignores
 * unknown fields, reads `not a = 1` as `a = 1`, and turns `a and b or c` into `a or b or c`. A
 * filter that silently means something else would leak or lose data, so every condition is first
 * checked against the subset the engine evaluates correctly (the grammar below) and refused
 * otherwise.
 *
 *   expr       := term (("and" | "or") term)*       one kind of conjunction per level
 *   term       := comparison | ["!"] function | "(" expr ")"   parentheses one level deep,
 *                                                              no functions inside them
 *   comparison := field op value
 *   function   := ("contains" | "match") "(" field "," "text" ")"
 */
import { matchesFql, parseFql, type ParsedFql } from '../actions-core'
import { lex, type Token } from '@segment/fql-ts'

/** A condition the engine cannot evaluate as written; `fix` says what to write instead. */
export class FqlError extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string
  ) {
    super(problem)
  }
}

export type EventPredicate = (event: Record<string, unknown>) => boolean

const FIELD_FIX = 'a field is type, event, name, userId, properties.<key>, traits.<key> or context.<key>'
const VALUE_FIX = 'quote text with double quotes ("track"); numbers, true, false and null are written bare'
const GROUP_FIX = 'group with parentheses, e.g. type = "track" and (event = "A" or event = "B")'
const SIMPLE_FIELDS = new Set(['type', 'event', 'name', 'userId'])
const OBJECT_FIELDS = new Set(['properties', 'traits', 'context'])
const COMPARISONS = new Set(['=', '!=', '<', '<=', '>', '>='])

interface Field {
  text: string
  root: string
}

class Checker {
  private i = 0
  constructor(private readonly tokens: Token[]) {}

  run(): void {
    if (this.peek().type === 'eos') throw new FqlError('the condition is empty', 'write a condition such as type = "track"')
    this.expression(0)
    const rest = this.peek()
    if (rest.type === 'parenright') throw new FqlError('it has a ")" without a matching "("', 'remove it or add the "("')
    if (rest.type !== 'eos') throw new FqlError(`${describe(rest)} cannot follow a condition`, 'join conditions with lower-case "and" / "or"')
  }

  private peek(offset = 0): Token {
    return this.tokens[this.i + offset] ?? { type: 'eos' as Token['type'], value: 'eos' }
  }

  private next(): Token {
    const token = this.peek()
    this.i++
    return token
  }

  private expression(depth: number): void {
    this.term(depth)
    let conjunction: string | undefined
    while (this.peek().type === 'conditional') {
      const word = this.next().value
      if (conjunction && word !== conjunction) {
        throw new FqlError(`it mixes "and" and "or" at the same level, which the FQL engine reads as all "${word}"`, GROUP_FIX)
      }
      conjunction = word
      if (this.peek().type === 'eos' || this.peek().type === 'parenright') {
        throw new FqlError(`it ends with "${word}"`, `add a condition after "${word}" or remove it`)
      }
      this.term(depth)
    }
  }

  private term(depth: number): void {
    const token = this.peek()
    if (token.type === 'parenleft') {
      if (depth > 0) throw new FqlError('it nests parentheses, which the FQL engine does not support', 'use one level of parentheses')
      this.next()
      this.expression(depth + 1)
      if (this.next().type !== 'parenright') throw new FqlError('a "(" is not closed', 'add the missing ")"')
      return
    }
    if (token.type === 'operator' && token.value === '!') {
      this.next()
      if (!isFunctionName(this.peek())) throw new FqlError('"!" may only precede contains() or match()', 'negate a comparison with != instead')
      this.func(depth)
      return
    }
    if (isFunctionName(token)) {
      this.func(depth)
      return
    }
    if (token.type === 'ident') {
      this.comparison()
      return
    }
    throw new FqlError(`expected a condition, found ${describe(token)}`, 'write a condition such as type = "track"')
  }

  private field(): Field {
    const first = this.next()
    if (first.type !== 'ident') throw new FqlError(`expected a field, found ${describe(first)}`, FIELD_FIX)
    let text = first.value
    while (this.peek().type === 'dot') {
      this.next()
      const segment = this.next()
      if (segment.type !== 'ident') {
        throw new FqlError(`the field "${text}." continues with ${describe(segment)}`, 'a key after a dot must be a name (letters, digits, _ or -, not starting with a digit)')
      }
      text += `.${segment.value}`
    }
    const root = text.split('.')[0]
    if (SIMPLE_FIELDS.has(root)) {
      if (root !== text) throw new FqlError(`unknown field "${text}"`, `"${root}" has no keys; ${FIELD_FIX}`)
    } else if (OBJECT_FIELDS.has(root)) {
      if (root === text) throw new FqlError(`the field "${root}" needs a key`, `write ${root}.<key>, e.g. ${root}.plan`)
    } else {
      throw new FqlError(`unknown field "${text}"`, FIELD_FIX)
    }
    return { text, root }
  }

  private comparison(): void {
    const field = this.field()
    const op = this.next()
    if (op.type !== 'operator' || !COMPARISONS.has(op.value)) {
      throw new FqlError(`expected a comparison (=, !=, <, <=, >, >=) after ${field.text}, found ${describe(op)}`, 'write e.g. properties.plan = "pro"')
    }
    if (this.peek().type === 'operator' && this.peek().value === '=') {
      throw new FqlError(`"${op.value}=" is not an FQL operator`, 'compare with a single =')
    }
    const value = this.next()
    const kind = valueKind(value)
    const where = `in ${field.text} ${op.value} ${value.value},`
    if (kind === 'bad') {
      throw new FqlError(`the value after ${field.text} ${op.value} is ${describe(value)}`, VALUE_FIX)
    }
    const ordering = op.value !== '=' && op.value !== '!='
    if (ordering && kind !== 'number') throw new FqlError(`${where} ${op.value} compares numbers only`, 'compare with a number, e.g. properties.total > 100')
    if (field.root === 'type' || field.root === 'event') {
      if (kind !== 'string') throw new FqlError(`${where} ${field.root} compares with quoted text only`, `write e.g. ${field.root} = "${field.root === 'type' ? 'track' : 'Order Completed'}"`)
      return
    }
    if (field.root === 'name' || field.root === 'userId') {
      if (kind !== 'string' && kind !== 'null') throw new FqlError(`${where} ${field.root} compares with quoted text or null only`, `write e.g. ${field.root} != null`)
      return
    }
    if (kind === 'boolean' && op.value !== '=') {
      throw new FqlError(`${where} true and false can only be compared with =`, `write ${field.text} = ${value.value === 'true' ? 'false' : 'true'} instead`)
    }
  }

  private func(depth: number): void {
    const name = this.next().value
    if (depth > 0) throw new FqlError(`${name}() inside parentheses is not supported by the FQL engine`, `move ${name}() out of the parentheses`)
    if (this.next().type !== 'parenleft') throw new FqlError(`${name} must be called as ${name}(field, "text")`, `write e.g. ${name}(event, "${name === 'match' ? 'Order*' : 'Order'}")`)
    const field = this.field()
    if (field.root === 'type') throw new FqlError(`${name}() does not accept the field type`, 'compare type with = instead')
    if (this.next().type !== 'comma') throw new FqlError(`${name}() takes two arguments: a field and quoted text`, `write ${name}(${field.text}, "text")`)
    const text = this.next()
    if (valueKind(text) !== 'string') throw new FqlError(`the second argument of ${name}() must be quoted text, found ${describe(text)}`, `write ${name}(${field.text}, "text")`)
    if (name === 'match' && !/^"\*|\*"$/.test(text.value)) {
      throw new FqlError(`match(${field.text}, ${text.value}) needs a pattern with * at its start or end`, 'write "prefix*" or "*suffix", or use contains() or =')
    }
    if (this.next().type !== 'parenright') throw new FqlError(`${name}() is not closed`, `write ${name}(${field.text}, ${text.value})`)
  }
}

function isFunctionName(token: Token): boolean {
  return token.type === 'ident' && (token.value === 'contains' || token.value === 'match')
}

function valueKind(token: Token): 'string' | 'number' | 'boolean' | 'null' | 'bad' {
  if (token.type === 'string') return token.value.startsWith('"') ? 'string' : 'bad'
  if (token.type === 'number') return 'number'
  if (token.type === 'null') return 'null'
  if (token.type === 'ident' && (token.value === 'true' || token.value === 'false')) return 'boolean'
  return 'bad'
}

function describe(token: Token): string {
  if (token.type === 'eos') return 'the end of the condition'
  if (token.type === 'string' && token.value.startsWith("'")) return `single-quoted text ${token.value}`
  if (token.type === 'ident') return `the word ${token.value}`
  if (token.type === 'string') return `the text ${token.value}`
  if (token.type === 'number') return `the number ${token.value}`
  return `"${token.value}"`
}

/** Checks `text` against the supported grammar and compiles it; throws FqlError when it is not. */
export function compileFql(text: string): EventPredicate {
  const lexed = lex(text)
  if (lexed.error) {
    const column = (lexed.error as { cursor?: { column?: number } }).cursor?.column
    throw new FqlError(
      // The lexer's cursor column is the 1-based column of the character it could not read.
      column === undefined ? 'it cannot be read' : `it cannot be read from column ${column} on (${text.slice(Math.max(column - 1, 0), column + 11)})`,
      'keys are letters, digits, _ or -; text is in double quotes; join conditions with "and" / "or"'
    )
  }
  new Checker(lexed.tokens).run()
  const ast: ParsedFql = parseFql(text)
  if ('error' in ast) throw new FqlError(`it cannot be parsed (${ast.error.message})`, 'write a condition such as type = "track"')
  return (event) => matchesFql(ast, event)
}
