#!/usr/bin/env node
'use strict'
// Prints the closing line CI reads, "N passed, N failed", from vitest's JSON report.
// Skipped or todo tests count as failed: a test that does not run proves nothing.
const fs = require('node:fs')
const file = process.argv[2] || 'test-results/vitest.json'
let report
try {
  report = JSON.parse(fs.readFileSync(file, 'utf8'))
} catch (err) {
  console.log(`no test report at ${file} (${err.message})`)
  console.log('0 passed, 1 failed')
  process.exit(1)
}
const passed = report.numPassedTests || 0
const skipped = (report.numPendingTests || 0) + (report.numTodoTests || 0)
const failedSuites = (report.testResults || []).filter((s) => s.status === 'failed' && (s.assertionResults || []).length === 0).length
const failed = (report.numFailedTests || 0) + skipped + failedSuites
if (skipped) console.log(`${skipped} test(s) skipped or todo: counted as failed`)
if (failedSuites) console.log(`${failedSuites} test file(s) failed to load: counted as failed`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
