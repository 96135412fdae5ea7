/** Finding a destination's Actions definition, and refusing the ones the relay cannot run. */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from '../../test/helpers/temp'
import { DefinitionError, INSTALL_HINT, loadDefinition, refusal } from './definitions'

afterAll(removeTempDirs)

describe('definitions', () => {
  it('refuses browser destinations with the reason', () => {
    expect(refusal({ name: 'X', mode: 'device', actions: { a: { perform: () => {} } } })).toMatch(/browser/)
  })

  it('names the npm command when @segment/action-destinations is not installed, and needs it only for its definitions', () => {
    const bare = tempDir('csb-no-catalog-')
    expect(() => loadDefinition('webhook', bare, [bare])).toThrow(DefinitionError)
    expect(() => loadDefinition('webhook', bare, [bare])).toThrow(`is not installed; install it with: ${INSTALL_HINT}`)
    expect(INSTALL_HINT).toBe('npm install @segment/action-destinations@3.497.0')
    // An in-house definition loads without the package.
    const file = path.join(bare, 'audit.js')
    fs.writeFileSync(file, "module.exports = { name: 'Audit', actions: { record: { title: 'R', fields: {}, perform: () => undefined } } }")
    expect(loadDefinition('./audit.js', bare, [bare]).name).toBe('Audit')
  })
})
