import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config'
import { redactConfig } from '../delivery'
import { removeTempDirs, tempDir } from '../../test/helpers/temp'

afterAll(removeTempDirs)

function withConfigFile(content: unknown) {
  const dir = tempDir()
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(content))
  return () => loadConfig({ argv: ['--config', 'config.json'], env: {}, cwd: dir })
}

describe('webhook settings in the config file', () => {
  it('reads sources[].sharedSecret, keeps it out of what is shown, and leaves sources without one alone', () => {
    const config = withConfigFile({
      sources: [{ name: 'segment', writeKey: 'wk-segment-1', sharedSecret: 'secret-from-segment-1' }, { name: 'web', writeKey: 'wk-web-1' }]
    })()
    // A signed source accepts deletions unless told not to (the next test).
    expect(config.sources).toEqual([{ name: 'segment', writeKey: 'wk-segment-1', sharedSecret: 'secret-from-segment-1', acceptDeletions: true }, { name: 'web', writeKey: 'wk-web-1' }])
    const shown = redactConfig(config)
    expect(JSON.stringify(shown)).not.toContain('secret-from-segment-1')
    expect(shown.sources).toEqual([
      { name: 'segment', writeKey: '[redacted, 12 chars]', sharedSecret: '[redacted, 21 chars]', acceptDeletions: true },
      { name: 'web', writeKey: '[redacted, 8 chars]' }
    ])
  })

  it('refuses a sharedSecret that is not a non-empty string, naming the source', () => {
    for (const sharedSecret of ['', 42, null]) {
      const load = withConfigFile({ sources: [{ name: 's', writeKey: 'k' }, { name: 'segment', writeKey: 'wk', sharedSecret }] })
      expect(load).toThrow(ConfigError)
      expect(load).toThrow(/^sources\[1\]\.sharedSecret must be a non-empty string/)
    }
  })

  it('reads sources[].acceptDeletions (by default on only for a source with a sharedSecret) and refuses a value that is not a boolean', () => {
    const config = withConfigFile({
      sources: [
        { name: 'segment', writeKey: 'wk-1', acceptDeletions: true },
        { name: 'web', writeKey: 'wk-2', acceptDeletions: false },
        { name: 'plain', writeKey: 'wk-3' },
        { name: 'signed', writeKey: 'wk-4', sharedSecret: 'shh-0123456' },
        { name: 'signed-not', writeKey: 'wk-5', sharedSecret: 'shh-0123456', acceptDeletions: false }
      ]
    })()
    expect(config.sources).toEqual([
      { name: 'segment', writeKey: 'wk-1', acceptDeletions: true },
      { name: 'web', writeKey: 'wk-2' },
      { name: 'plain', writeKey: 'wk-3' },
      { name: 'signed', writeKey: 'wk-4', sharedSecret: 'shh-0123456', acceptDeletions: true },
      { name: 'signed-not', writeKey: 'wk-5', sharedSecret: 'shh-0123456' }
    ])
    for (const acceptDeletions of ['true', 1, null]) {
      const load = withConfigFile({ sources: [{ name: 's', writeKey: 'k', acceptDeletions }] })
      expect(load).toThrow(/^sources\[0\]\.acceptDeletions must be true or false/)
    }
  })

  it('takes a /v1/webhook request limit of 4 MiB by default (a batch of 1,000 events of 1 KB fits), changeable under "ingest"', () => {
    expect(loadConfig({ env: {} }).ingest.maxWebhookRequestBytes).toBe(4 * 1024 * 1024)
    expect(loadConfig({ env: {} }).ingest.maxWebhookRequestBytes).toBeGreaterThan(1000 * 1024)
    expect(withConfigFile({ ingest: { maxWebhookRequestBytes: 2_000_000 } })().ingest.maxWebhookRequestBytes).toBe(2_000_000)
  })
})
