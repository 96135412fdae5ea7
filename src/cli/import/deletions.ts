/**
 * User deletion requests (`type: "delete"`) met in an import. They are not events to import:
 * the relay runs deletions as regulations, which take the admin token, not the write key the
 * import uses, and a deletion run half-way through an import would miss the user's events
 * imported after it. So they are counted apart and their userIds kept, one a line, in a file
 * beside the checkpoint, for `csb-relay regulate --type DELETE_ONLY --file` once the import is
 * done (docs/ops.md).
 */
import fs from 'node:fs'
import path from 'node:path'

/** The file of userIds beside a checkpoint: `X.csb-import-checkpoint.json` keeps them in `X.csb-import-checkpoint.deletions.txt`. */
export function deletionsPathOf(checkpointPath: string): string {
  return checkpointPath.replace(/(\.json)?$/, '.deletions.txt')
}

/** A deletion request's userId (a number as its text), as `regulate --file` reads it back; or why it cannot be kept. */
export function deletionOf(event: Record<string, unknown>): { deletion: string } | { problem: string } {
  const { userId } = event
  const id = typeof userId === 'string' ? userId.trim() : typeof userId === 'number' && Number.isFinite(userId) ? String(userId) : ''
  if (id === '') return { problem: 'user deletion request (type "delete") without a userId: users are deleted by userId; nothing to delete' }
  if (/[\r\n]/.test(id)) return { problem: 'user deletion request (type "delete") whose userId holds a line break: not imported; make its regulation with POST /api/regulations' }
  return { deletion: id }
}

export class DeletionRequests {
  /** Requests met in this run. */
  count = 0
  private unsaved: string[] = []

  /** `restart`: the import starts over, and so does the file. */
  constructor(readonly file: string, restart: boolean) {
    if (restart) fs.rmSync(file, { force: true })
  }

  add(userId: string): void {
    this.count++
    this.unsaved.push(userId)
  }

  /** Appends the userIds met since the last save: called before the checkpoint moves past their lines. */
  save(): void {
    if (this.unsaved.length === 0) return
    fs.mkdirSync(path.dirname(this.file), { recursive: true })
    fs.appendFileSync(this.file, this.unsaved.map((id) => `${id}\n`).join(''))
    this.unsaved = []
  }

  /** Distinct userIds in the file, from this run and the runs it resumes. */
  users(): number {
    let text: string
    try {
      text = fs.readFileSync(this.file, 'utf8')
    } catch {
      return 0
    }
    return new Set(text.split('\n').filter((line) => line !== '')).size
  }
}
