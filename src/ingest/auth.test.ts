import { describe, expect, it } from 'vitest'
import { basicAuth } from '../../test/helpers/http'
import { WriteKeys, writeKeyFromAuthorization } from './auth'

describe('write keys', () => {
  const keys = new WriteKeys([{ name: 'web', writeKey: 'key-web' }, { name: 'server', writeKey: 'key-server' }])

  it('finds the source of a known key and nothing for others (prefixes, longer keys, empty)', () => {
    expect(keys.sourceOf('key-web')).toBe('web')
    expect(keys.sourceOf('key-server')).toBe('server')
    expect(keys.sourceOf('key-we')).toBeUndefined()
    expect(keys.sourceOf('key-web2')).toBeUndefined()
    expect(keys.sourceOf('')).toBeUndefined()
  })

  it('reads the key from HTTP Basic as Segment libraries send it (key as username, empty password)', () => {
    expect(writeKeyFromAuthorization(basicAuth('key-web'))).toBe('key-web')
    expect(writeKeyFromAuthorization(`basic ${Buffer.from('key-web').toString('base64')}`)).toBe('key-web')
    expect(writeKeyFromAuthorization('Bearer key-web')).toBeUndefined()
    expect(writeKeyFromAuthorization(basicAuth('', 'pw'))).toBeUndefined()
    expect(writeKeyFromAuthorization(undefined)).toBeUndefined()
  })
})
