import { describe, expect, it } from 'vitest'
import destination from '../destination'
import { compileSubscriptions, defaultSubscriptions, matching } from './subscriptions'

describe('subscriptions', () => {
  it('defaults to the destination presets', () => {
    const subs = compileSubscriptions(defaultSubscriptions(destination), destination)
    expect(subs.map((s) => s.partnerAction)).toEqual(['identifyUser', 'upsertAccount', 'trackFeature', 'trackPage', 'syncAudience'])
    const names = (e: Record<string, unknown>) => matching(subs, e).map((s) => s.partnerAction)
    expect(names({ type: 'identify', userId: 'u' })).toEqual(['identifyUser'])
    expect(names({ type: 'identify', userId: 'u', context: { personas: { computation_class: 'audience' } } })).toEqual(['syncAudience'])
    expect(names({ type: 'track', event: 'Audience Entered' })).toEqual(['syncAudience'])
    expect(names({ type: 'page' })).toEqual(['trackPage'])
    expect(names({ type: 'alias' })).toEqual([])
    expect(names({ type: 'screen' })).toEqual([])
  })

  it('config subscriptions replace the presets (page views as features)', () => {
    const subs = compileSubscriptions(
      [{ name: 'Pages as features', subscribe: 'type = "page"', partnerAction: 'trackFeature', mapping: { feature_id: { '@path': '$.name' } } }],
      destination
    )
    expect(matching(subs, { type: 'page', name: 'Pricing' }).map((s) => s.name)).toEqual(['Pages as features'])
    expect(matching(subs, { type: 'identify' })).toEqual([])
  })

  it('names an unknown action and lists the known ones', () => {
    expect(() => compileSubscriptions([{ name: 'X', subscribe: 'type = "page"', partnerAction: 'sendPage', mapping: {} }], destination)).toThrow(
      /subscription #1 \("X"\): unknown partnerAction "sendPage". Use one of: identifyUser, upsertAccount, trackFeature, trackPage, syncAudience/
    )
  })

  it('names invalid FQL and shows the form to use', () => {
    expect(() => compileSubscriptions([{ subscribe: 'type === page (', partnerAction: 'trackPage' }], destination)).toThrow(
      /subscription #1: invalid "subscribe" FQL .*type = "page"/
    )
    expect(() => compileSubscriptions([{ subscribe: '', partnerAction: 'trackPage' }], destination)).toThrow(/"subscribe" must be an FQL condition/)
  })

  it('rejects an invalid mapping directive', () => {
    expect(() =>
      compileSubscriptions([{ subscribe: 'type = "page"', partnerAction: 'trackPage', mapping: { name: { '@nope': 'x' } } }], destination)
    ).toThrow(/subscription #1: invalid mapping/)
  })

  it('rejects a subscriptions value that is not an array', () => {
    expect(() => compileSubscriptions({}, destination)).toThrow(/must be an array/)
  })
})

describe('docs/delivery.md', () => {
  it('its subscriptions example is valid and sends page views as features', async () => {
    const fs = await import('node:fs')
    const path = await import('node:path')
    const text = fs.readFileSync(path.resolve(__dirname, '../../docs/delivery.md'), 'utf8')
    const json = /```json\n([\s\S]*?)```/.exec(text)?.[1]
    expect(json).toBeDefined()
    const subs = compileSubscriptions(JSON.parse(json as string).subscriptions, destination)
    expect(matching(subs, { type: 'page', name: 'Pricing' }).map((s) => s.partnerAction)).toEqual(['trackFeature'])
    expect(matching(subs, { type: 'identify', userId: 'u' }).map((s) => s.partnerAction)).toEqual(['identifyUser'])
  })
})
