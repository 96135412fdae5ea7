import { describe, expect, it } from 'vitest'
import { adminToken, csbApiKey, firstWriteKey, relayUrl } from './env'

describe('the operator commands read the environment, and a flag wins over it', () => {
  it('finds the relay from --url, else HOST and PORT, else 127.0.0.1:8080', () => {
    expect(relayUrl('http://relay.internal:9000/', { HOST: 'x', PORT: '1' })).toBe('http://relay.internal:9000')
    expect(relayUrl(undefined, { HOST: '10.0.0.5', PORT: '9001' })).toBe('http://10.0.0.5:9001')
    expect(relayUrl(undefined, { HOST: '0.0.0.0' })).toBe('http://127.0.0.1:8080')
    expect(relayUrl(undefined, { HOST: '::1', PORT: '81' })).toBe('http://[::1]:81')
    expect(relayUrl(undefined, {})).toBe('http://127.0.0.1:8080')
  })

  it('takes the admin token from --token, else CSB_RELAY_ADMIN_TOKEN', () => {
    expect(adminToken('flag-token', { CSB_RELAY_ADMIN_TOKEN: 'env-token' })).toBe('flag-token')
    expect(adminToken(undefined, { CSB_RELAY_ADMIN_TOKEN: 'env-token' })).toBe('env-token')
    expect(adminToken(undefined, { CSB_RELAY_ADMIN_TOKEN: '' })).toBeUndefined()
  })

  it('takes the write key from --write-key, else the first of CSB_RELAY_WRITE_KEYS', () => {
    expect(firstWriteKey('flag-key', { CSB_RELAY_WRITE_KEYS: 'a,b' })).toBe('flag-key')
    expect(firstWriteKey(undefined, { CSB_RELAY_WRITE_KEYS: ' , first , second' })).toBe('first')
    expect(firstWriteKey(undefined, {})).toBeUndefined()
  })

  it('takes the CSB API key only from CSB_API_KEY', () => {
    expect(csbApiKey({ CSB_API_KEY: 'csb-key' })).toBe('csb-key')
    expect(csbApiKey({ CSB_API_KEY: '' })).toBeUndefined()
  })
})
