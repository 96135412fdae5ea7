import { describe, expect, it } from 'vitest'
import { Headers as NodeFetchHeaders } from '@segment/actions-core'
import { redactHeaders } from '../../src/delivery/capture'
import { completedSubscriptions, samplesOf } from '../../src/delivery/samples'

describe('redactHeaders', () => {
  it('lower-cases names and replaces credentials, from objects, Headers and pairs', () => {
    expect(redactHeaders({ Authorization: 'Bearer secret', 'Content-Type': 'application/json' })).toEqual({
      authorization: '[redacted]',
      'content-type': 'application/json'
    })
    expect(redactHeaders(new Headers({ authorization: 'Basic abc', 'X-Api-Key': 'k', accept: 'application/json' }))).toEqual({
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      accept: 'application/json'
    })
    expect(redactHeaders([['Proxy-Authorization', 'x']])).toEqual({ 'proxy-authorization': '[redacted]' })
    expect(redactHeaders(undefined)).toEqual({})
  })

  it('reads node-fetch Headers (what actions-core sends with) through raw(), joining repeated values', () => {
    const headers = new NodeFetchHeaders({ Authorization: 'Bearer secret', 'Content-Type': 'application/json' })
    headers.append('X-Multi', 'a')
    headers.append('X-Multi', 'b')
    expect(redactHeaders(headers)).toEqual({ authorization: '[redacted]', 'content-type': 'application/json', 'x-multi': 'a, b' })
  })
})

describe('samples', () => {
  const request = { method: 'POST', url: 'http://x/api/v1_1/user', headers: { authorization: '[redacted]' }, body: { user_id: 'u' } }
  const response = { status: 503, headers: {}, body: { success: false } }

  it('one request: the request and the response as they are', () => {
    const s = samplesOf({ results: [{ subscription: 'a', action: 'identifyUser', exchanges: [{ request, response }] }], failed: null }, ['a'])
    expect(s).toEqual({ request, response })
  })

  it('a network error stands in for the response', () => {
    const failed = { subscription: 'a', action: 'identifyUser', exchanges: [{ request }], error: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }
    const s = samplesOf({ results: [failed], failed }, [])
    expect(s?.response).toEqual({ error: 'Error ECONNREFUSED: refused' })
  })

  it('a failure before any request (missing id) keeps the error as the response', () => {
    const failed = { subscription: 'a', action: 'identifyUser', exchanges: [], error: new Error('account_id is missing') }
    expect(samplesOf({ results: [failed], failed }, [])).toEqual({ response: { error: 'Error: account_id is missing' } })
  })

  it('several subscriptions: arrays, and the ones already delivered are remembered across a retry', () => {
    const ok = { subscription: 'a', action: 'trackPage', exchanges: [{ request, response: { ...response, status: 200 } }] }
    const failed = { subscription: 'b', action: 'trackFeature', exchanges: [{ request, response }], error: new Error('503') }
    const s = samplesOf({ results: [ok, failed], failed }, ['a'])
    expect(Array.isArray(s?.request)).toBe(true)
    expect(completedSubscriptions(s)).toEqual(['a'])
    expect(completedSubscriptions(null)).toEqual([])
  })
})
