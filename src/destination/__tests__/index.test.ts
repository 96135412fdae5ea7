import { createTestIntegration, Destination } from '@segment/actions-core'
import destination, {
  CSB_PATHS,
  CUSTOMERSUCCESSBOX_API_VERSION,
  INTEGRATION_NAMES,
  destination as namedDestination
} from '..'
import { useFakeCsb } from './__helpers__/fake-csb'
import { onEventSettings, settingsFor } from './__helpers__/helpers'
import { expected, seed } from './__helpers__/seed'

const csb = useFakeCsb()

function settings(extra: Record<string, unknown> = {}) {
  return { ...onEventSettings(csb.url, extra), apiKey: csb.apiKey }
}

describe('the seed page example calls, through onEvent with the default presets', () => {
  const schemes = [
    { authScheme: 'bearer', header: () => `Bearer ${csb.apiKey}` },
    { authScheme: 'basic', header: () => `Basic ${Buffer.from(`${csb.apiKey}:`).toString('base64')}` }
  ] as const
  for (const scheme of schemes) {
    for (const call of ['identify', 'track', 'group', 'page'] as const) {
      it(`${call} produces the expected CSB request (${scheme.authScheme})`, async () => {
        await new Destination(destination).onEvent(seed[call], settings({ authScheme: scheme.authScheme }))
        const requests = csb.requests()
        expect(requests).toHaveLength(1)
        const [request] = requests
        expect(request.method).toBe('POST')
        expect(request.path).toBe(expected[call].path)
        expect(request.headers.authorization).toBe(scheme.header())
        expect(request.headers['content-type']).toBe('application/json')
        expect(request.headers.accept).toBe('application/json')
        expect(request.body).toStrictEqual(expected[call].body)
        expect(request.status).toBe(200)
      })
    }
  }

  it('returns what was sent where in the action result', async () => {
    const results = await new Destination(destination).onEvent(seed.group, settings())
    const executed = results.filter((r) => r.output === 'Action Executed')
    expect(executed).toStrictEqual([
      {
        output: 'Action Executed',
        data: { endpoint: '/api/v1_1/account', status: 200, response: { success: true }, warnings: [] }
      }
    ])
  })
})

describe('testAuthentication', () => {
  it('passes with the right key, for both schemes, and creates nothing', async () => {
    const test = createTestIntegration(destination)
    await expect(test.testAuthentication(settingsFor(csb.url, { apiKey: csb.apiKey }))).resolves.toBeUndefined()
    await expect(
      test.testAuthentication(settingsFor(csb.url, { apiKey: csb.apiKey, authScheme: 'basic' }))
    ).resolves.toBeUndefined()
    const requests = csb.requests()
    expect(requests.map((r) => [r.path, r.body, r.status])).toStrictEqual([
      ['/api/v1_1/account', {}, 400],
      ['/api/v1_1/account', {}, 400]
    ])
  })

  it('fails with a clear message for a wrong key, without echoing it', async () => {
    const test = createTestIntegration(destination)
    const wrong = 'wrong-key-should-not-be-echoed'
    const error = await test.testAuthentication(settingsFor(csb.url, { apiKey: wrong })).then(
      () => null,
      (e: Error) => e
    )
    expect(error).toBeInstanceOf(Error)
    expect(error?.message).toMatch(/^Credentials are invalid: 401 CustomerSuccessBox rejected the API key \(401\)/)
    expect(error?.message).toMatch(/API key for POST request/)
    expect(error?.message).not.toContain(wrong)
  })

  it('says it could not verify when the base URL answers something else (404)', async () => {
    const test = createTestIntegration(destination)
    const error = await test.testAuthentication(settingsFor(`${csb.url}/not-csb`, { apiKey: csb.apiKey })).then(
      () => null,
      (e: Error) => e
    )
    expect(error?.message).toMatch(/Could not verify the API key: POST \/api\/v1_1\/account answered 404/)
    expect(error?.message).toMatch(/https:\/\/<tenant>\.customersuccessbox\.com/)
  })

  it('rejects a bad baseUrl before sending anything', async () => {
    const test = createTestIntegration(destination)
    await expect(
      test.testAuthentication(settingsFor('http://csb.example.com', { apiKey: csb.apiKey }))
    ).rejects.toThrow(/baseUrl must use https:\/\/.*https:\/\/<tenant>\.customersuccessbox\.com/)
    expect(csb.requests()).toHaveLength(0)
  })
})

describe('the definition', () => {
  it('has a name usable as a URI scheme, so settings validation works with any fast-uri', () => {
    expect(destination.name).toMatch(/^[A-Za-z][A-Za-z0-9+.-]*$/)
    for (const action of Object.values(destination.actions)) expect(action.title).not.toContain(':')
  })

  it('validates settings: accepts complete ones, rejects a missing apiKey with status 400', () => {
    const d = new Destination(destination)
    expect(() => d.validateSettings(settingsFor('https://acme.customersuccessbox.com'))).not.toThrow()
    const missing = { baseUrl: 'https://acme.customersuccessbox.com' } as unknown as ReturnType<typeof settingsFor>
    let error: (Error & { status?: number }) | undefined
    try {
      d.validateSettings(missing)
    } catch (e) {
      error = e as Error & { status?: number }
    }
    expect(error?.message).toMatch(/apiKey/)
    expect(error?.status).toBe(400)
  })

  it('declares baseUrl a URI, and a loopback http:// URI passes that check (the sandbox)', () => {
    expect(destination.authentication?.fields.baseUrl).toMatchObject({ format: 'uri', required: true })
    const d = new Destination(destination)
    expect(() => d.validateSettings(settingsFor('http://127.0.0.1:8081'))).not.toThrow()
    expect(() => d.validateSettings(settingsFor('not a url'))).toThrow(/Base URL must be a valid/)
  })

  it('marks the ids every request needs as required', () => {
    const required = Object.fromEntries(
      Object.entries(destination.actions).map(([slug, action]) => [
        slug,
        Object.keys(action.fields).filter((key) => action.fields[key].required === true)
      ])
    )
    expect(required).toStrictEqual({
      identifyUser: ['account_id', 'user_id'],
      upsertAccount: ['account_id'],
      trackFeature: ['account_id', 'user_id', 'feature_id'],
      trackPage: ['account_id', 'user_id'],
      syncAudience: ['account_id', 'user_id', 'audience_key']
    })
  })

  it('builds every endpoint path from the CSB API version in versioning-info.ts', () => {
    expect(CUSTOMERSUCCESSBOX_API_VERSION).toBe('v1_1')
    for (const path of Object.values(CSB_PATHS)) expect(path).toContain(`/${CUSTOMERSUCCESSBOX_API_VERSION}/`)
  })

  it('exports the definition as default and as `destination`, and the integrations-object names', () => {
    expect(namedDestination).toBe(destination)
    expect(INTEGRATION_NAMES).toStrictEqual([
      'CustomerSuccessBox',
      'CustomerSuccessBox (Actions)',
      'Actions CustomerSuccessBox'
    ])
    expect(INTEGRATION_NAMES).toContain(destination.name)
  })
})
