/**
 * The checks behind test/architecture.test.ts, on any repository root (the real one, or a
 * fixture in the tests of the checks themselves). Each returns messages naming the file, the
 * import or the count, and the rule; none means the rule holds.
 */
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

const MODULES = ['destination', 'sandbox', 'ingest', 'store', 'delivery', 'ops', 'cli'] as const
type Module = (typeof MODULES)[number]

/**
 * DESIGN.md's module table: the modules of ours each module may import besides itself (Node's
 * and npm packages are always allowed). The sandbox may import nothing of ours but types.
 */
const MAY_IMPORT: Record<Module, readonly Module[]> = {
  destination: [],
  sandbox: [],
  ingest: ['store'],
  store: [],
  delivery: ['store', 'destination'],
  ops: ['store', 'delivery'],
  cli: MODULES
}
const TYPES_OF_ANY_MODULE: readonly Module[] = ['sandbox']
/** What tests in src/ may import besides their module's arrows: the CSB stand-in, and the repository's test helpers and tools. */
const TESTS_MAY_ALSO_IMPORT: readonly Module[] = ['sandbox']
const TESTS_MAY_REACH = ['test/', 'scripts/']

/** Lines allowed in one source file. */
export const MAX_LINES = 300

/** The actions-core internals that only the seam may name (as members: the package's exported functions are its public API). */
const INTERNAL_MEMBERS = ['executeAction', 'executeBatch', 'createRequestClient', 'responses']
export const SEAM = 'src/delivery/actions-core.ts'
export const ENV_MODULE = 'src/cli/env.ts'

const parsed = new Map<string, ts.SourceFile>()
function parse(file: string): ts.SourceFile {
  let source = parsed.get(file)
  if (!source) parsed.set(file, (source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)))
  return source
}

function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(full, keep)
    return keep(full) ? [full] : []
  })
}

const isTypeScript = (file: string) => /\.(ts|tsx|mts|cts)$/.test(file) && !file.endsWith('.d.ts')
const isTest = (relative: string) => /\.test\.ts$/.test(relative) || relative.split('/').includes('__tests__')

function moduleOf(relative: string): Module | undefined {
  const [top, name] = relative.split('/')
  return top === 'src' && (MODULES as readonly string[]).includes(name) ? (name as Module) : undefined
}

interface Import {
  specifier: string
  typeOnly: boolean
  line: number
}

/** Every module specifier in a file: static and dynamic imports, re-exports, require(), import types. */
function importsOf(file: string): Import[] {
  const source = parse(file)
  const found: Import[] = []
  const add = (node: ts.Node, specifier: ts.Expression | undefined, typeOnly: boolean) => {
    if (specifier && ts.isStringLiteralLike(specifier)) {
      found.push({ specifier: specifier.text, typeOnly, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 })
    }
  }
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause
      const named = clause?.namedBindings
      const allNamedTypes = !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)
      add(node, node.moduleSpecifier, !!clause && (clause.isTypeOnly || (!clause.name && allNamedTypes)))
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause
      const allNamedTypes = !!named && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)
      add(node, node.moduleSpecifier, node.isTypeOnly || allNamedTypes)
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, node.isTypeOnly)
    } else if (ts.isCallExpression(node) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      add(node, node.arguments[0], false)
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal as ts.Expression, true)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

function allowed(from: Module, test: boolean): string {
  const modules = MAY_IMPORT[from]
  const ours = modules.length === 0 ? 'nothing of ours' : modules.join(', ')
  const types = TYPES_OF_ANY_MODULE.includes(from) ? ' but types (import type)' : ''
  const tests = test ? `; its tests also ${TESTS_MAY_ALSO_IMPORT.join(', ')}, ${TESTS_MAY_REACH.join(', ')}` : ''
  return `${ours}${types}${tests} (DESIGN.md's module table)`
}

/** A repository's source, checked against the rules above. */
export class SourceTree {
  constructor(readonly root: string) {}

  private rel(file: string): string {
    return path.relative(this.root, file).split(path.sep).join('/')
  }

  private files(dir: string, keep: (file: string) => boolean): string[] {
    return filesUnder(path.join(this.root, dir), keep)
  }

  /** What a relative import reaches: one of our modules or another place in the repository; nothing for a package. */
  target(file: string, specifier: string): { module?: Module; path?: string } {
    if (!specifier.startsWith('.')) return {}
    const resolved = this.rel(path.resolve(path.dirname(file), specifier))
    return { module: moduleOf(resolved), path: resolved }
  }

  /** Every broken arrow in src/. */
  arrowViolations(): string[] {
    const problems: string[] = []
    for (const file of this.files('src', isTypeScript)) {
      const from = moduleOf(this.rel(file))
      if (!from) {
        problems.push(`${this.rel(file)} belongs to no module: every file in src/ lives in one of ${MODULES.join(', ')}`)
        continue
      }
      const test = isTest(this.rel(file))
      for (const imp of importsOf(file)) {
        const to = this.target(file, imp.specifier)
        if (to.path === undefined || to.module === from) continue
        const where = `${this.rel(file)}:${imp.line} imports '${imp.specifier}'`
        if (to.module === undefined) {
          if (!(test && TESTS_MAY_REACH.some((dir) => to.path!.startsWith(dir)))) {
            problems.push(`${where} (${to.path}), outside src/'s modules: ${from} may import only ${allowed(from, test)}`)
          }
          continue
        }
        if (MAY_IMPORT[from].includes(to.module)) continue
        if (imp.typeOnly && TYPES_OF_ANY_MODULE.includes(from)) continue
        if (test && TESTS_MAY_ALSO_IMPORT.includes(to.module)) continue
        problems.push(`${where} (module ${to.module}): ${from} may import only ${allowed(from, test)}`)
      }
    }
    return problems
  }

  /** Files other than the seam that name actions-core's internals: a member access, declaration or assignment of those names. */
  internalsOutsideTheSeam(): string[] {
    const isSeam = (relative: string) => relative === SEAM || (relative.startsWith('src/delivery/') && path.basename(relative).startsWith('actions-core'))
    return this.files('src', isTypeScript)
      .filter((file) => !isSeam(this.rel(file)))
      .flatMap((file) =>
        nodesOf(file, (node) => {
          const name = memberName(node)
          return name !== undefined && INTERNAL_MEMBERS.includes(name) ? `names actions-core's internal "${name}": only ${SEAM} may (the one seam on actions-core)` : undefined
        }).map((found) => `${this.rel(file)}:${found}`)
      )
  }

  /** Code in src/ other than src/cli/env.ts that reads the environment: the relay's settings come from the config loader. */
  environmentReadsOutsideTheLoader(): string[] {
    return this.files('src', (f) => isTypeScript(f) && !isTest(this.rel(f)))
      .filter((file) => this.rel(file) !== ENV_MODULE)
      .flatMap((file) =>
        nodesOf(file, (node) =>
          ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'process' && node.name.text === 'env'
            ? `reads process.env: config is read only by the config loader, through ${ENV_MODULE}`
            : undefined
        ).map((found) => `${this.rel(file)}:${found}`)
      )
  }

  /** Source files over the limit; generated types, the dashboard's static files and test fixtures (data, such as a database dump) aside. */
  oversizedFiles(): string[] {
    const isSource = (file: string) =>
      /\.(ts|js|mjs|cjs|sh|sql)$/.test(file) && path.basename(file) !== 'generated-types.ts' && !this.rel(file).split('/').some((part) => part === 'public' || part === 'fixtures')
    const lineCount = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
    return ['src', 'test', 'bench', 'scripts']
      .flatMap((dir) => this.files(dir, isSource))
      .map((file) => ({ file: this.rel(file), lines: lineCount(fs.readFileSync(file, 'utf8')) }))
      .filter(({ lines }) => lines > MAX_LINES)
      .sort((a, b) => b.lines - a.lines)
      .map(({ file, lines }) => `${file} has ${lines} lines: no source file over ${MAX_LINES} (generated types and static assets aside)`)
  }
}

/** `line: message` for every node of a file the test gives a message for. */
function nodesOf(file: string, test: (node: ts.Node) => string | undefined): string[] {
  const source = parse(file)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    const message = test(node)
    if (message !== undefined) found.push(`${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${message}`)
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

/** The member a node names: `a.name`, `a['name']`, or a property or method declared or assigned. */
function memberName(node: ts.Node): string | undefined {
  if (ts.isPropertyAccessExpression(node)) return node.name.text
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) return node.argumentExpression.text
  const declared = ts.isPropertySignature(node) || ts.isPropertyAssignment(node) || ts.isMethodDeclaration(node) || ts.isPropertyDeclaration(node)
  return declared && ts.isIdentifier(node.name) ? node.name.text : undefined
}
