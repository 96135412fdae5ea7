/**
 * `csb-relay import` of a Segment archive holding user deletion requests (`type: "delete"`), as
 * a user runs it (the built CLI): the requests are not imported nor reported as bad lines; the
 * summary counts them and names the regulate command, and running that command deletes the
 * users the import stored.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { runToExit } from '../helpers/processes'
import { relayForFile, TEST_WRITE_KEY } from '../helpers/relay'
import { tempDir } from '../helpers/temp'

const TOKEN = 'import-deletions-token-0123'

const relay = relayForFile(TOKEN)

describe('csb-relay import of an archive with user deletion requests', () => {
  it('imports the events, counts the deletion requests apart, and the regulate command it prints deletes those users', async () => {
    const dir = tempDir('import-deletions-')
    const file = path.join(dir, 'archive.jsonl')
    const identify = (userId: string, n: number) => JSON.stringify({ type: 'identify', userId, messageId: `${userId}-${n}`, traits: { account_id: 'acme' } })
    fs.writeFileSync(file, [
      identify('u-gone', 1), identify('u-kept', 1), identify('u-gone', 2),
      JSON.stringify({ type: 'delete', userId: 'u-gone', messageId: 'del-1' }),
      JSON.stringify({ type: 'delete', userId: 'u-gone', messageId: 'del-2' }),
      JSON.stringify({ type: 'delete', anonymousId: 'a-1', messageId: 'del-3' }),
      identify('u-kept', 2)
    ].join('\n') + '\n')

    const imported = await runToExit(['import', file, '--url', relay().url, '--quiet'], { env: { CSB_RELAY_WRITE_KEYS: TEST_WRITE_KEY } })
    expect(imported.code, imported.stderr).toBe(0)
    expect(imported.stdout).toMatch(/^Imported 4 events from .* 1 bad line\(s\) skipped\./m)
    const deletions = `${file}.csb-import-checkpoint.deletions.txt`
    expect(imported.stdout).toContain(
      `2 user deletion request(s) (type "delete") not imported: deletion requests run as regulations. The userIds of 1 user(s) are in ${deletions}; ` +
        'once the import is done, delete those users with:'
    )
    // The one without a userId is the bad line, saying why; the others are not bad lines.
    expect(imported.stderr.trim()).toBe('line 6: user deletion request (type "delete") without a userId: users are deleted by userId; nothing to delete')
    expect(fs.readFileSync(deletions, 'utf8')).toBe('u-gone\nu-gone\n')
    const stored = await relay().store.list({ limit: 100 })
    expect(stored.map((e) => e.messageId).sort()).toEqual(['u-gone-1', 'u-gone-2', 'u-kept-1', 'u-kept-2'])

    const command = /^ {2}csb-relay regulate (.+)$/m.exec(imported.stdout)?.[1]
    expect(command).toBe(`--type DELETE_ONLY --file ${deletions}`)
    const regulated = await runToExit(['regulate', ...command!.split(' '), '--wait', '--url', relay().url, '--token', TOKEN])
    expect(regulated.code, regulated.stderr).toBe(0)
    expect(regulated.stdout).toMatch(/DELETE_ONLY of 1 user\(s\), FINISHED/)
    expect((await relay().store.list({ limit: 100 })).map((e) => e.messageId).sort()).toEqual(['u-kept-1', 'u-kept-2'])

    // Run again: nothing sent, and the advice still stands.
    const again = await runToExit(['import', file, '--url', relay().url], { env: { CSB_RELAY_WRITE_KEYS: TEST_WRITE_KEY } })
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toMatch(/was already imported/)
    expect(again.stdout).toContain(`The file's user deletion requests (type "delete") not imported: deletion requests run as regulations. The userIds of 1 user(s) are in ${deletions}`)
  })
})
