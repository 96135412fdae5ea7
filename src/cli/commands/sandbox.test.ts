import { describe, expect, it } from 'vitest'
import { parseSandboxFlags } from './sandbox'

describe('sandbox flags', () => {
  it('defaults to port 8081 on 127.0.0.1 with no faults', () => {
    expect(parseSandboxFlags([])).toMatchObject({ port: 8081, host: '127.0.0.1', apiKey: undefined, quiet: false, faults: {} })
  })

  it('turns fault flags into the faults object', () => {
    const flags = parseSandboxFlags([
      '--latency', 'normal:20:5', '--error-rate', '0.2', '--error-status', '500,503', '--throttle-rate', '0.1', '--retry-after', '3',
      '--rate-limit', '100', '--burst', '20', '--drop-rate', '0.01', '--outage', '5', '--outage-status', '502'
    ])
    expect(flags.faults).toEqual({
      latency: { distribution: 'normal', meanMs: 20, stdDevMs: 5 },
      errors: { '500': 0.1, '503': 0.1 },
      throttle: { rate: 0.1, retryAfterSeconds: 3 },
      rateLimit: { perSecond: 100, burst: 20, retryAfterSeconds: 3 },
      dropRate: 0.01,
      outage: { seconds: 5, mode: 'status', status: 502, retryAfterSeconds: 3 }
    })
    expect(parseSandboxFlags(['--latency', '20']).faults.latency).toBe(20)
    expect(parseSandboxFlags(['--faults', '{"dropRate": 0.5}', '--latency', '1']).faults).toEqual({ dropRate: 0.5, latency: 1 })
  })

  it('names the flag and what it accepts when a value is wrong', () => {
    expect(() => parseSandboxFlags(['--latency', 'uniform:9:1'])).toThrow(/--latency: expected MS, uniform:MIN:MAX/)
    expect(() => parseSandboxFlags(['--error-status', '503'])).toThrow('--error-status: needs --error-rate')
    expect(() => parseSandboxFlags(['--error-rate', '0.1', '--error-status', '200'])).toThrow(/--error-status: expected status codes from 400 to 599/)
    expect(() => parseSandboxFlags(['--outage-mode', 'refuse'])).toThrow(/need --outage SECONDS/)
    expect(() => parseSandboxFlags(['--outage', '3', '--outage-mode', 'nap'])).toThrow('--outage-mode: expected status or refuse, got "nap"')
    expect(() => parseSandboxFlags(['--rate-limit', '0'])).toThrow(/--rate-limit: expected a number/)
    expect(() => parseSandboxFlags(['--faults', '[1]'])).toThrow(/--faults: expected a JSON object/)
    expect(() => parseSandboxFlags(['extra'])).toThrow(/Unexpected argument 'extra'/)
  })
})
