import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { generateTypes } from '../../scripts/generate-types'
import destination from '../../src/destination'

describe('generated-types.ts files', () => {
  it('are exactly what `npm run generate-types` produces (regenerated in memory)', async () => {
    const dir = path.resolve(__dirname, '../../src/destination')
    const files = await generateTypes(destination, dir)
    expect([...files.keys()].map((f) => path.relative(dir, f)).sort()).toStrictEqual([
      'generated-types.ts',
      'identifyUser/generated-types.ts',
      'syncAudience/generated-types.ts',
      'trackFeature/generated-types.ts',
      'trackPage/generated-types.ts',
      'upsertAccount/generated-types.ts'
    ])
    for (const [file, text] of files) {
      expect(fs.readFileSync(file, 'utf8'), path.relative(dir, file)).toBe(text)
    }
  })

  it('describe each field with its label-free JSON schema, e.g. the Settings interface', async () => {
    const files = await generateTypes(destination, '/x')
    const settings = files.get(path.join('/x', 'generated-types.ts')) ?? ''
    expect(settings).toContain('export interface Settings {')
    expect(settings).toContain('\n  apiKey: string\n')
    expect(settings).toContain('\n  baseUrl: string\n')
    expect(settings).toContain('\n  prefixCustomTraits?: boolean\n')
    expect(files.get(path.join('/x', 'trackFeature', 'generated-types.ts'))).toContain('\n  timestamp?: string | number\n')
  })
})
