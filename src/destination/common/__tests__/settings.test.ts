import { authorizationHeader, baseUrlOf, baseUrlProblem, InvalidSettingsError } from '../settings'

const HINT = 'it should look like https://<tenant>.customersuccessbox.com'

describe('baseUrl validation', () => {
  it.each([
    ['https://acme.customersuccessbox.com', 'https://acme.customersuccessbox.com'],
    ['https://acme.customersuccessbox.com/', 'https://acme.customersuccessbox.com'],
    ['  https://acme.staging.customersuccessbox.com  ', 'https://acme.staging.customersuccessbox.com'],
    ['https://proxy.example.com/csb/', 'https://proxy.example.com/csb'],
    ['http://127.0.0.1:8081', 'http://127.0.0.1:8081'],
    ['http://localhost:8081/', 'http://localhost:8081'],
    ['http://[::1]:8081', 'http://[::1]:8081']
  ])('accepts %s as %s', (value, base) => {
    expect(baseUrlProblem(value)).toBeNull()
    expect(baseUrlOf({ baseUrl: value })).toBe(base)
  })

  it.each([
    [undefined, `baseUrl is required: your CustomerSuccessBox address; ${HINT}`],
    ['', `baseUrl is required: your CustomerSuccessBox address; ${HINT}`],
    ['acme.customersuccessbox.com', `baseUrl is not a valid URL; ${HINT}`],
    [
      'http://acme.customersuccessbox.com',
      `baseUrl must use https:// (http:// is allowed only for 127.0.0.1, localhost and [::1]); ${HINT}`
    ],
    [
      'http://10.0.0.1:8081',
      `baseUrl must use https:// (http:// is allowed only for 127.0.0.1, localhost and [::1]); ${HINT}`
    ],
    ['ftp://acme.customersuccessbox.com', `baseUrl must start with https:// (got ftp://); ${HINT}`],
    [
      'https://key@acme.customersuccessbox.com',
      `baseUrl must not contain a user name or password (the API key goes in apiKey); ${HINT}`
    ],
    ['https://acme.customersuccessbox.com/?x=1', `baseUrl must not contain a query string or fragment; ${HINT}`],
    [
      'https://acme.customersuccessbox.com/api/v1_1',
      `baseUrl must be the tenant's address without the /api... path; ${HINT}`
    ],
    [
      'https://acme.customersuccessbox.com/api_js/v1_1/page',
      `baseUrl must be the tenant's address without the /api... path; ${HINT}`
    ]
  ])('rejects %j with a message saying what a right one looks like', (value, message) => {
    expect(baseUrlProblem(value)).toBe(message)
    expect(() => baseUrlOf({ baseUrl: value as string })).toThrow(InvalidSettingsError)
  })

  it('never repeats the value (it may be a pasted key)', () => {
    const pasted = 'sEcReTkEyPastedIntoTheWrongBox0123456789abcdefgh'
    expect(baseUrlProblem(pasted)).not.toContain(pasted)
    expect(baseUrlProblem(`https://${pasted}@acme.customersuccessbox.com`)).not.toContain(pasted)
  })

  it('is a non-retryable error with status 400', () => {
    const error = new InvalidSettingsError('x')
    expect(error.status).toBe(400)
    expect(error.code).toBe('INVALID_SETTINGS')
  })
})

describe('Authorization header', () => {
  it('is Bearer <key> by default and for authScheme bearer', () => {
    expect(authorizationHeader({ apiKey: 'abc' })).toBe('Bearer abc')
    expect(authorizationHeader({ apiKey: 'abc', authScheme: 'bearer' })).toBe('Bearer abc')
  })
  it('is Basic base64(key + ":") for authScheme basic', () => {
    expect(authorizationHeader({ apiKey: 'abc', authScheme: 'basic' })).toBe(
      `Basic ${Buffer.from('abc:').toString('base64')}`
    )
  })
})
