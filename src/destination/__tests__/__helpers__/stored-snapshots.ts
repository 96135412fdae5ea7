/**
 * Snapshots that jest and vitest both read the same way. Their `toMatchSnapshot` files differ
 * (header line, key names of nested describe blocks, how objects are printed), so a .snap file
 * written by one fails or is rewritten by the other. These snapshots are plain JSON instead,
 * one file per test file in __snapshots__, compared with toStrictEqual.
 * Record or refresh them with UPDATE_STORED_SNAPSHOTS=1 and the runner of your choice.
 */
import fs from 'fs'
import path from 'path'

const UPDATE = process.env.UPDATE_STORED_SNAPSHOTS === '1'

export class StoredSnapshots {
  private readonly file: string
  private readonly stored: Record<string, unknown>

  /** The snapshots of `testFile` (pass `__filename`). */
  constructor(testFile: string) {
    this.file = path.join(path.dirname(testFile), '__snapshots__', `${path.basename(testFile)}.json`)
    this.stored = fs.existsSync(this.file)
      ? (JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, unknown>)
      : {}
  }

  /** Asserts that `value` equals the snapshot `name` (records it instead when updating). */
  check(name: string, value: unknown): void {
    if (UPDATE) {
      this.stored[name] = value
      this.save()
      return
    }
    if (!(name in this.stored)) {
      throw new Error(`no stored snapshot "${name}" in ${this.file}: run the test with UPDATE_STORED_SNAPSHOTS=1`)
    }
    expect(value).toStrictEqual(this.stored[name])
  }

  /** The names of the stored snapshots. */
  names(): string[] {
    return Object.keys(this.stored).sort()
  }

  /** Drops every stored snapshot not in `names` (when updating). */
  keepOnly(names: string[]): void {
    if (!UPDATE) return
    for (const name of Object.keys(this.stored)) if (!names.includes(name)) delete this.stored[name]
    this.save()
  }

  private save(): void {
    const sorted: Record<string, unknown> = {}
    for (const name of Object.keys(this.stored).sort()) sorted[name] = this.stored[name]
    fs.mkdirSync(path.dirname(this.file), { recursive: true })
    fs.writeFileSync(this.file, JSON.stringify(sorted, null, 2) + '\n')
  }
}
