/**
 * deploy/csb-relay.service as systemd reads it: `systemd-analyze verify` finds nothing to say,
 * the offline security review rates it well, and it holds the settings docs/deploy.md promises.
 * scripts/test.sh installs Debian's systemd package, which brings systemd-analyze.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { removeTempDirs, tempDir } from '../helpers/temp'

const ROOT = path.resolve(__dirname, '../..')
const UNIT = path.join(ROOT, 'deploy', 'csb-relay.service')
const unitText = fs.readFileSync(UNIT, 'utf8')

afterAll(removeTempDirs)

function systemdAnalyze(args: string[]) {
  const result = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 20_000 })
  if (result.error) {
    throw new Error(`systemd-analyze cannot run (${result.error.message}): install Debian's systemd package (scripts/test.sh does)`)
  }
  return { code: result.status, output: `${result.stdout}${result.stderr}`.trim() }
}

/**
 * A copy of the unit to verify. verify checks that ExecStart's program exists; on a machine
 * whose Node is not /usr/bin/node the copy names the Node running this test instead.
 */
function unitCopy(text: string, name = 'csb-relay.service'): string {
  const file = path.join(tempDir('csb-relay-unit-'), name)
  fs.writeFileSync(file, fs.existsSync('/usr/bin/node') ? text : text.replaceAll('/usr/bin/node', process.execPath))
  return file
}

/** The values of `Key=` in the unit, in order (a key may repeat). */
function values(key: string): string[] {
  return unitText.split('\n').filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1))
}

describe('deploy/csb-relay.service', () => {
  it('passes systemd-analyze verify without a warning; a misspelt key would make it speak', () => {
    const clean = systemdAnalyze(['verify', unitCopy(unitText)])
    expect(clean).toEqual({ code: 0, output: '' })
    // verify only warns (exit 0) on unknown keys: the test counts its words, not its exit code.
    const misspelt = systemdAnalyze(['verify', unitCopy(unitText.replace('ProtectSystem=strict', 'ProtectSystm=strict'))])
    expect(misspelt.output).toContain("Unknown key 'ProtectSystm'")
  })

  it('is rated OK or better by the offline security review (exposure below 2 of 10)', () => {
    const { output } = systemdAnalyze(['security', '--offline=true', unitCopy(unitText)])
    const exposure = /Overall exposure level for csb-relay\.service: ([\d.]+)/.exec(output)
    expect(exposure, output.slice(-500)).not.toBeNull()
    expect(Number(exposure![1])).toBeLessThan(2)
  })

  it('runs the relay as a dedicated user with its store in the state directory and its secrets in an env file', () => {
    expect(values('User')).toEqual(['csb-relay'])
    expect(values('StateDirectory')).toEqual(['csb-relay'])
    expect(values('Environment')).toContain('CSB_RELAY_DB=/var/lib/csb-relay/csb-relay.db')
    expect(values('EnvironmentFile')).toEqual(['/etc/csb-relay/relay.env'])
    expect(values('ExecStart')[0]).toMatch(/\/bin\/csb-relay\.js start$/)
    const sysusers = fs.readFileSync(path.join(ROOT, 'deploy', 'csb-relay.sysusers.conf'), 'utf8')
    expect(sysusers).toMatch(/^u csb-relay - .* \/var\/lib\/csb-relay /m)
  })

  it('restarts on failure but not on a configuration error, stops with SIGTERM, and is hardened', () => {
    expect(values('Restart')).toEqual(['on-failure'])
    expect(values('RestartPreventExitStatus')).toEqual(['2'])
    expect(values('KillSignal')).toEqual(['SIGTERM'])
    for (const [key, value] of [['ProtectSystem', 'strict'], ['NoNewPrivileges', 'yes'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['CapabilityBoundingSet', '']]) {
      expect(values(key), key).toEqual([value])
    }
    // V8's JIT needs writable and executable memory.
    expect(values('MemoryDenyWriteExecute')).toEqual([])
  })
})
