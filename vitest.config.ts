import { defineConfig } from 'vitest/config'
import path from 'node:path'

// actions-core's ESM build does not load on Node 20; point every import at its CommonJS build,
// the same code the compiled relay runs.
const actionsCore = path.resolve(__dirname, 'node_modules/@segment/actions-core/dist/cjs')

export default defineConfig({
  resolve: {
    alias: [{ find: /^@segment\/actions-core$/, replacement: path.join(actionsCore, 'index.js') }]
  },
  test: {
    // describe/it/expect as globals, as jest has them: src/destination's tests run under both
    // (see docs/destination.md, Contributing it to Segment).
    globals: true,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks'
  }
})
