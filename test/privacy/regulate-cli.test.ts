/**
 * `csb-relay regulate` as a user runs it (the built CLI) against a relay with an admin token:
 * create (userIds as arguments or from a file), --wait, list, show, --json, usage errors, and
 * the token rule. A FAILED regulation under --wait is in on-delete.test.ts.
 */
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { runToExit } from '../helpers/processes'
import { relayForFile } from '../helpers/relay'
import { tempDir } from '../helpers/temp'
import type { RegulationAnswer } from './regulations-helpers'

const TOKEN = 'regulate-cli-token-0123456'

const relay = relayForFile(TOKEN)

const cli = (...args: string[]) => runToExit(['regulate', ...args, '--url', relay().url, '--token', TOKEN])

describe('csb-relay regulate', () => {
  it('--type with userIds and --wait: creates the regulation, follows it to FINISHED, prints what it did', async () => {
    const r = await cli('--type', 'suppress-only', 'u-cli-1', 'u-cli-2', '--wait')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^Regulation (\S+) created: SUPPRESS_ONLY of 2 user\(s\)\.$/m)
    expect(r.stdout).toMatch(/^Regulation \S+: SUPPRESS_ONLY of 2 user\(s\), FINISHED$/m)
    expect(r.stdout).toMatch(/^ {2}origin cli; created .* UTC, finished .* UTC$/m)
    expect(r.stdout).toMatch(/^ {2}users suppressed: 2$/m)
    expect(r.stdout).toMatch(/^ {2}userIds: u-cli-1, u-cli-2$/m)
  })

  it('--wait gives up after --timeout with exit 3, naming the regulation still RUNNING', async () => {
    // A relay whose runner never finishes the regulation (as one that stopped running them would).
    const stuck = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      if (req.method === 'POST') return res.end(JSON.stringify({ regulateId: 'stuck-1' }))
      res.end(JSON.stringify({ data: { regulation: { id: 'stuck-1', regulationType: 'DELETE_ONLY', status: 'RUNNING', subjectCount: 1, counts: {} } } }))
    })
    await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(stuck.address() as AddressInfo).port}`
      const started = Date.now()
      const r = await runToExit(['regulate', '--type', 'DELETE_ONLY', 'u-stuck', '--wait', '--timeout', '1', '--url', url, '--token', TOKEN])
      expect(r.code, r.stderr).toBe(3)
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
      expect(r.stderr).toContain('1 regulation(s) still RUNNING after 1 s (--timeout); they go on in the background.')
      expect(r.stderr).toContain('csb-relay regulate show stuck-1')
      const bad = await runToExit(['regulate', '--type', 'DELETE_ONLY', 'u-stuck', '--wait', '--timeout', 'soon', '--url', url])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toContain('--timeout must be a whole number of seconds (0: no limit); got "soon"')
    } finally {
      stuck.close()
    }
  })

  it('--file: one userId a line (blank lines skipped); without --wait it says how to follow it', async () => {
    const file = path.join(tempDir('regulate-cli'), 'ids.txt')
    fs.writeFileSync(file, 'u-file-1\n\n  u-file-2  \nu-file-1\n')
    const r = await cli('--type', 'DELETE_ONLY', '--file', file)
    expect(r.code, r.stderr).toBe(0)
    const id = /^Regulation (\S+) created: DELETE_ONLY of 2 user\(s\)\.$/m.exec(r.stdout)?.[1]
    expect(id).toBeDefined()
    expect(r.stdout).toContain(`follow it: csb-relay regulate show ${id}`)

    const shown = await cli('show', id!, '--json')
    expect(shown.code, shown.stderr).toBe(0)
    const regulation = JSON.parse(shown.stdout) as RegulationAnswer
    expect(regulation).toMatchObject({ id, regulationType: 'DELETE_ONLY', subjectIds: ['u-file-1', 'u-file-2'], origin: 'cli' })
    expect(['RUNNING', 'FINISHED']).toContain(regulation.status)
  })

  it('list: newest first, as a table or JSON, narrowed by status', async () => {
    const made = await cli('--type', 'UNSUPPRESS', 'u-cli-1', '--wait', '--json')
    expect(made.code, made.stderr).toBe(0)
    const [unsuppressed] = JSON.parse(made.stdout) as RegulationAnswer[]
    expect(unsuppressed).toMatchObject({ regulationType: 'UNSUPPRESS', status: 'FINISHED', counts: { unsuppressed: 1 } })

    const table = await cli('list')
    expect(table.code, table.stderr).toBe(0)
    const lines = table.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^ID +CREATED \(UTC\) +TYPE +USERS +STATUS +ORIGIN +REASON$/)
    expect(lines[1]).toMatch(new RegExp(`^${unsuppressed!.id} +\\S+ \\S+ +UNSUPPRESS +1 +FINISHED +cli$`))
    expect(lines.filter((l) => / cli$/.test(l))).toHaveLength(3)

    const json = JSON.parse((await cli('list', '--json', '--status', 'FINISHED', '--limit', '1')).stdout) as RegulationAnswer[]
    expect(json.map((r) => r.id)).toEqual([unsuppressed!.id])
  })

  it('refuses bad usage with exit 2 and the fix', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--type', 'forget', 'u-1'], /--type must be one of SUPPRESS_ONLY, UNSUPPRESS, SUPPRESS_WITH_DELETE, DELETE_ONLY; got "forget"/],
      [['--type', 'DELETE_ONLY'], /no userIds: give them as arguments, or with --file FILE/],
      [['--type', 'DELETE_ONLY', '--file', '/nonexistent/ids.txt'], /cannot read \/nonexistent\/ids\.txt/],
      [[], /say what to do: --type TYPE USER_ID\.\.\., list, or show ID/],
      [['erase', 'u-1'], /unknown subcommand "erase"; to regulate users give --type TYPE before their userIds/],
      [['show'], /show takes one regulation id/],
      [['list', '--status', 'DONE'], /--status must be RUNNING, FINISHED or FAILED/]
    ]
    for (const [args, message] of cases) {
      const r = await cli(...args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr, args.join(' ')).toMatch(message)
    }
    expect((await runToExit(['regulate', '--help'])).stdout).toContain('SUPPRESS_WITH_DELETE   suppress, then delete')
  })

  it('an unknown id is the relay\'s 404; without the token the relay refuses (exit 1)', async () => {
    const unknown = await cli('show', 'no-such-regulation')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('the relay answered 404: no regulation with id "no-such-regulation"')
    // An id starting with "-" goes after "--", or it would be read as an option.
    const dashed = await runToExit(['regulate', 'show', '--url', relay().url, '--token', TOKEN, '--', '-qX1'])
    expect(dashed.code, dashed.stderr).toBe(1)
    expect(dashed.stderr).toContain('the relay answered 404: no regulation with id "-qX1"')
    const refused = await runToExit(['regulate', '--type', 'DELETE_ONLY', 'u-1', '--url', relay().url])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('the relay wants its admin token: pass --token or set CSB_RELAY_ADMIN_TOKEN')
  })
})
