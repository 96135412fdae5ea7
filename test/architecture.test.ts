/**
 * The architecture of ../shared/DESIGN.md, checked on the source itself:
 *
 * - the module arrows: every import in src/ is parsed (TypeScript's parser) and resolved to the
 *   module it reaches, which must be one its module may import. Tests in src/ keep their
 *   module's arrows, and may also run against the sandbox (the local CSB), use the helpers in
 *   test/ and the tools in scripts/;
 * - one seam on actions-core: only src/delivery/actions-core.ts (and its contract tests) names
 *   the internals delivery relies on;
 * - config is read in one place: only src/cli/env.ts reads `process.env`;
 * - rooms: no source file in src/, test/, bench/ or scripts/ is over 300 lines.
 *
 * Each failure names the file, the import or the count, and the rule (the checks: helpers/architecture.ts).
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ENV_MODULE, MAX_LINES, SEAM, SourceTree } from './helpers/architecture'
import { removeTempDirs, tempDir } from './helpers/temp'

const repository = new SourceTree(path.resolve(__dirname, '..'))

describe('architecture (../shared/DESIGN.md)', () => {
  it('every import in src/ follows the module arrows', () => {
    expect(repository.arrowViolations()).toEqual([])
  })

  it(`only ${SEAM} names actions-core's internals (executeAction, createRequestClient, a Destination's responses)`, () => {
    expect(repository.internalsOutsideTheSeam()).toEqual([])
  })

  it(`only ${ENV_MODULE} reads process.env (the config loader's environment)`, () => {
    expect(repository.environmentReadsOutsideTheLoader()).toEqual([])
  })

  it(`no source file is over ${MAX_LINES} lines`, () => {
    expect(repository.oversizedFiles()).toEqual([])
  })
})

describe('the architecture checks themselves', () => {
  afterAll(removeTempDirs)

  /** A repository of the given files. */
  function fixture(files: Record<string, string>): SourceTree {
    const root = tempDir('csb-relay-architecture-')
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
      fs.writeFileSync(path.join(root, file), text)
    }
    return new SourceTree(root)
  }

  it('report an import against the arrows, naming the file, the import and the rule', () => {
    const tree = fixture({
      'src/ops/wiring.ts': "import type { RelayConfig } from '../cli/config'\nimport { openStore } from '../store'\nimport pino from 'pino'\n",
      'src/store/index.ts': "export { x } from '../delivery/x'\nconst later = () => import('../ingest')\nconst ops = require('../ops')\ntype T = import('../cli').T\n",
      'src/sandbox/server.ts': "import type { Settings } from '../destination'\nimport { type A, type B } from '../store'\nimport csb from '../destination'\n",
      'src/ingest/plugin.test.ts': "import { fakeStore } from '../../test/helpers/fake-store'\nimport { startSandbox } from '../sandbox'\nimport { startRelay } from '../cli/relay'\n",
      'src/ingest/plugin.ts': "import { fakeStore } from '../../test/helpers/fake-store'\n",
      'src/stray.ts': 'export const x = 1\n'
    })
    expect(tree.arrowViolations().sort()).toEqual([
      "src/ingest/plugin.test.ts:3 imports '../cli/relay' (module cli): ingest may import only store; its tests also sandbox, test/, scripts/ (DESIGN.md's module table)",
      "src/ingest/plugin.ts:1 imports '../../test/helpers/fake-store' (test/helpers/fake-store), outside src/'s modules: ingest may import only store (DESIGN.md's module table)",
      "src/ops/wiring.ts:1 imports '../cli/config' (module cli): ops may import only store, delivery (DESIGN.md's module table)",
      "src/sandbox/server.ts:3 imports '../destination' (module destination): sandbox may import only nothing of ours but types (import type) (DESIGN.md's module table)",
      "src/store/index.ts:1 imports '../delivery/x' (module delivery): store may import only nothing of ours (DESIGN.md's module table)",
      "src/store/index.ts:2 imports '../ingest' (module ingest): store may import only nothing of ours (DESIGN.md's module table)",
      "src/store/index.ts:3 imports '../ops' (module ops): store may import only nothing of ours (DESIGN.md's module table)",
      "src/store/index.ts:4 imports '../cli' (module cli): store may import only nothing of ours (DESIGN.md's module table)",
      'src/stray.ts belongs to no module: every file in src/ lives in one of destination, sandbox, ingest, store, delivery, ops, cli'
    ])
  })

  it("report actions-core's internals named outside the seam, and leave the seam and the package's own functions alone", () => {
    const tree = fixture({
      'src/delivery/attempt.ts': 'class D extends Destination { run() { return this.executeAction("x", {}) } }\nd.responses.length = 0\naction["createRequestClient"] = f\n',
      'src/delivery/actions-core.ts': 'class D extends Destination { run() { return this.executeAction("x", {}) } }\nd.responses.length = 0\n',
      'src/destination/request.test.ts': "import { createRequestClient } from '@segment/actions-core'\nconst request = createRequestClient({})\n"
    })
    expect(tree.internalsOutsideTheSeam()).toEqual([
      'src/delivery/attempt.ts:1 names actions-core\'s internal "executeAction": only src/delivery/actions-core.ts may (the one seam on actions-core)',
      'src/delivery/attempt.ts:2 names actions-core\'s internal "responses": only src/delivery/actions-core.ts may (the one seam on actions-core)',
      'src/delivery/attempt.ts:3 names actions-core\'s internal "createRequestClient": only src/delivery/actions-core.ts may (the one seam on actions-core)'
    ])
  })

  it('report process.env read outside src/cli/env.ts', () => {
    const tree = fixture({
      'src/delivery/index.ts': '// reads nothing from process.env here\nconst threads = Number(process.env.CSB_RELAY_DELIVERY_THREADS)\n',
      'src/cli/env.ts': 'export const processEnv = () => process.env\n',
      'src/store/postgres.test.ts': 'const url = process.env.CSB_RELAY_TEST_PG\n'
    })
    expect(tree.environmentReadsOutsideTheLoader()).toEqual([
      'src/delivery/index.ts:2 reads process.env: config is read only by the config loader, through src/cli/env.ts'
    ])
  })

  it('report a file over the limit with its count, and leave generated types, static assets and test fixtures alone', () => {
    const lines = (n: number) => 'x\n'.repeat(n)
    const tree = fixture({
      'src/store/types.ts': lines(301),
      'test/ok.test.ts': lines(300),
      'bench/delivery.ts': lines(400),
      'src/destination/generated-types.ts': lines(900),
      'src/ops/public/dashboard.js': lines(900),
      'test/helpers/store/fixtures/previous-release-pg.sql': lines(900),
      'docs/long.md': lines(900)
    })
    expect(tree.oversizedFiles()).toEqual([
      'bench/delivery.ts has 400 lines: no source file over 300 (generated types and static assets aside)',
      'src/store/types.ts has 301 lines: no source file over 300 (generated types and static assets aside)'
    ])
  })
})
