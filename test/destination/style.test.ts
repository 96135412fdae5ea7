/**
 * src/destination stays in segmentio/action-destinations' style: their Prettier settings and
 * eslint rules, applied to the folder by scripts/contrib/format-destination.sh.
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(__dirname, '../..')

describe("src/destination in action-destinations' style", () => {
  it('is Prettier-formatted and lint-clean, warnings included (npm run format:destination fixes most)', () => {
    const run = spawnSync('bash', ['scripts/contrib/format-destination.sh', '--check'], { cwd: ROOT, encoding: 'utf8' })
    const output = `${run.stdout}${run.stderr}`
    if (run.status !== 0) throw new Error(`npm run format:destination -- --check failed:\n${output}`)
    expect(output).toContain('src/destination: eslint clean, prettier clean')
  }, 180_000)
})
