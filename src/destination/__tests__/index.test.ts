import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createTestIntegration, Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import { parseFql, validate } from '@segment/destination-subscriptions'
import destination, { INTEGRATION_NAMES, destination as namedDestination } from '..'
import { startSandbox, type Sandbox } from '../../sandbox'
import { onEventSettings, presetSubscriptions, settingsFor } from './helpers'

const TIMESTAMP = '2024-01-08T10:00:00.000Z'
const ROOT = path.resolve(__dirname, '../../..')

/** The four example calls on the seed page, as the browser library sends them. */
const seed: Record<'identify' | 'track' | 'group' | 'page', SegmentEvent> = {
  identify: {
    type: 'identify',
    userId: 'userID123',
    traits: { account_id: '12345678', user_id: 'john.doe@company.com' },
    timestamp: TIMESTAMP,
    messageId: 'm-identify'
  },
  track: {
    type: 'track',
    event: 'Order Received',
    userId: 'userID123',
    properties: { cost: '$120.00', account_id: '12345678', user_id: 'john.doe@company.com' },
    timestamp: TIMESTAMP,
    messageId: 'm-track'
  },
  group: {
    type: 'group',
    userId: 'userID123',
    groupId: 'accountId123',
    traits: { account_id: '12345678', name: 'ABC Group' },
    timestamp: TIMESTAMP,
    messageId: 'm-group'
  },
  page: {
    type: 'page',
    name: 'orders',
    userId: 'userID123',
    properties: {
      name: 'orders',
      title: 'My Orders',
      url: 'https://app.example.com/orders',
      path: '/orders',
      referrer: 'https://app.example.com/',
      account_id: '12345678',
      user_id: 'john.doe@company.com'
    },
    timestamp: TIMESTAMP,
    messageId: 'm-page'
  }
}

const expected = {
  identify: { path: '/api/v1_1/user', body: { account_id: '12345678', user_id: 'john.doe@company.com' } },
  track: {
    path: '/api/v1_1/feature',
    body: {
      account_id: '12345678',
      user_id: 'john.doe@company.com',
      product_id: 'Default Product',
      module_id: 'Default Module',
      feature_id: 'Order Received',
      total: 1,
      type: 'feature',
      timestamp: TIMESTAMP
    }
  },
  group: { path: '/api/v1_1/account', body: { account_id: '12345678', name: 'ABC Group' } },
  page: {
    path: '/api_js/v1_1/page',
    body: {
      type: 'page',
      account_id: '12345678',
      user_id: 'john.doe@company.com',
      name: 'orders',
      url: 'https://app.example.com/orders',
      path: '/orders',
      title: 'My Orders',
      referrer: 'https://app.example.com/',
      timestamp: TIMESTAMP
    }
  }
}

let csb: Sandbox
beforeAll(async () => {
  csb = await startSandbox({ port: 0, apiKey: 'seed-key-0123456789' })
})
afterAll(async () => {
  await csb.close()
})
beforeEach(() => csb.clearRequests())

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
      { output: 'Action Executed', data: { endpoint: '/api/v1_1/account', status: 200, response: { success: true }, warnings: [] } }
    ])
  })
})

describe('presets', () => {
  const engageIdentify: SegmentEvent = {
    type: 'identify',
    userId: 'u1',
    traits: { account_id: 'a1', order_completed_last_30days: true },
    context: { personas: { computation_class: 'audience', computation_key: 'order_completed_last_30days' } }
  }
  const engageTrack = (event: string, value: boolean): SegmentEvent => ({
    type: 'track',
    event,
    userId: 'u1',
    properties: { account_id: 'a1', audience_key: 'order_completed_last_30days', order_completed_last_30days: value },
    context: { personas: { computation_class: 'audience', computation_key: 'order_completed_last_30days' } }
  })
  const cases: Array<[string, SegmentEvent, string[]]> = [
    ['identify', seed.identify, ['identifyUser']],
    ['group', seed.group, ['upsertAccount']],
    ['track', seed.track, ['trackFeature']],
    ['page', seed.page, ['trackPage']],
    ['audience identify', engageIdentify, ['syncAudience']],
    ['Audience Entered', engageTrack('Audience Entered', true), ['syncAudience']],
    ['Audience Exited', engageTrack('Audience Exited', false), ['syncAudience']],
    ['User Login', { ...seed.track, event: 'User Login' }, ['trackFeature']],
    ['computed-trait identify', { ...seed.identify, context: { personas: { computation_class: 'trait' } } }, ['identifyUser']],
    ['alias', { type: 'alias', userId: 'u1', previousId: 'u0' }, []],
    ['screen', { type: 'screen', userId: 'u1', name: 'Home' }, []]
  ]

  it('are automatic, one per action, with the action default mapping', () => {
    expect(destination.presets?.map((p) => p.partnerAction)).toStrictEqual([
      'identifyUser',
      'upsertAccount',
      'trackFeature',
      'trackPage',
      'syncAudience'
    ])
    for (const preset of destination.presets ?? []) {
      expect(preset.type).toBe('automatic')
      expect(Object.keys(preset.mapping ?? {})).toStrictEqual(Object.keys(destination.actions[preset.partnerAction].fields))
    }
  })

  for (const [name, event, actions] of cases) {
    it(`match a ${name} call with ${actions.length ? actions.join(', ') : 'no action'} only (FQL)`, () => {
      const matching = presetSubscriptions().filter((s) => {
        const parsed = parseFql(s.subscribe as string)
        if ('error' in parsed) throw parsed.error
        return validate(parsed, event)
      })
      expect(matching.map((s) => s.partnerAction)).toStrictEqual(actions)
    })
  }

  it('send an Engage audience identify once, to /user, and not as a plain identify', async () => {
    await new Destination(destination).onEvent(engageIdentify, settings())
    expect(csb.requests().map((r) => [r.path, r.body])).toStrictEqual([
      ['/api/v1_1/user', { account_id: 'a1', user_id: 'u1', order_completed_last_30days: true }]
    ])
  })

  it('send Audience Entered / Exited once each, not as feature events', async () => {
    await new Destination(destination).onEvent(engageTrack('Audience Entered', true), settings())
    await new Destination(destination).onEvent(engageTrack('Audience Exited', false), settings())
    expect(csb.requests().map((r) => [r.path, r.body])).toStrictEqual([
      ['/api/v1_1/user', { account_id: 'a1', user_id: 'u1', order_completed_last_30days: true }],
      ['/api/v1_1/user', { account_id: 'a1', user_id: 'u1', order_completed_last_30days: false }]
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
    const error = await test
      .testAuthentication(settingsFor(`${csb.url}/not-csb`, { apiKey: csb.apiKey }))
      .then(() => null, (e: Error) => e)
    expect(error?.message).toMatch(/Could not verify the API key: POST \/api\/v1_1\/account answered 404/)
    expect(error?.message).toMatch(/https:\/\/<tenant>\.customersuccessbox\.com/)
  })

  it('rejects a bad baseUrl before sending anything', async () => {
    const test = createTestIntegration(destination)
    await expect(test.testAuthentication(settingsFor('http://csb.example.com', { apiKey: csb.apiKey }))).rejects.toThrow(
      /baseUrl must use https:\/\/.*https:\/\/<tenant>\.customersuccessbox\.com/
    )
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

  it('exports the definition as default and as `destination`, and the integrations-object names', () => {
    expect(namedDestination).toBe(destination)
    expect(INTEGRATION_NAMES).toStrictEqual(['CustomerSuccessBox', 'CustomerSuccessBox (Actions)', 'Actions CustomerSuccessBox'])
    expect(INTEGRATION_NAMES).toContain(destination.name)
  })
})

describe('csb-relay/destination from another project', () => {
  it('loads with require() from the compiled dist/ and validates settings', () => {
    const compiled = path.join(ROOT, 'dist/destination/index.js')
    expect(fs.existsSync(compiled), 'dist/destination/index.js is missing: run `npx tsc -p tsconfig.build.json` first').toBe(true)
    const script = `
      const mod = require('csb-relay/destination')
      const { Destination } = require('@segment/actions-core')
      const d = new Destination(mod.default)
      d.validateSettings({ apiKey: 'k', baseUrl: 'https://acme.customersuccessbox.com' })
      console.log(JSON.stringify({
        resolved: require.resolve('csb-relay/destination'),
        same: mod.default === mod.destination,
        name: mod.destination.name,
        names: mod.INTEGRATION_NAMES,
        actions: Object.keys(mod.destination.actions)
      }))`
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })) as Record<string, unknown>
    expect(out).toStrictEqual({
      resolved: compiled,
      same: true,
      name: 'CustomerSuccessBox',
      names: [...INTEGRATION_NAMES],
      actions: ['identifyUser', 'upsertAccount', 'trackFeature', 'trackPage', 'syncAudience']
    })
  })
})
