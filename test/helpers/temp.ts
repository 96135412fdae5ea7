/** Temporary directories that are removed when the test file is done. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const created: string[] = []

export function tempDir(prefix = 'csb-relay-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  created.push(dir)
  return dir
}

/** Removes every directory tempDir made (call from afterAll). */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
}
