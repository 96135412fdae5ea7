/**
 * Test helpers: settings, the presets as subscriptions, a logger that records warnings, and
 * running one action against a (fake) CSB.
 */
import { createTestIntegration, defaultValues } from '@segment/actions-core'
import type { JSONObject, Logger, SegmentEvent } from '@segment/actions-core'
import destination, { explainActionError } from '../..'
import type { Settings } from '../../generated-types'
import type { CsbRequest, FakeCsb } from './fake-csb'

/** Where the nock stand-in for CSB answers, and the key it accepts. */
export const FAKE_CSB_URL = 'https://acme.customersuccessbox.com'
export const FAKE_CSB_KEY = 'fake-csb-key-0123456789abcdefghijklmnopqrstuv'
export const API_KEY = FAKE_CSB_KEY

/** The presets as Segment would store them: subscribe + partnerAction + mapping. */
export function presetSubscriptions(): JSONObject[] {
  return (destination.presets ?? []).map((preset) => {
    if (preset.type !== 'automatic') throw new Error('only automatic presets are expected')
    return {
      name: preset.name ?? '',
      subscribe: preset.subscribe,
      partnerAction: preset.partnerAction,
      mapping: preset.mapping ?? {}
    }
  })
}

export function settingsFor(baseUrl: string, extra: Partial<Settings> = {}): Settings {
  return { apiKey: API_KEY, baseUrl, ...extra }
}

/** Settings plus `subscriptions` = the presets, the way `Destination.onEvent` takes them. */
export function onEventSettings(baseUrl: string, extra: Partial<Settings> = {}): JSONObject {
  return { ...settingsFor(baseUrl, extra), subscriptions: presetSubscriptions() } as unknown as JSONObject
}

/** A Logger that keeps what was passed to `warn`. */
export function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = []
  const noop = (): void => undefined
  return {
    level: 'info',
    name: 'test',
    debug: noop,
    info: noop,
    warn: (...message: string[]) => void warnings.push(message.join(' ')),
    error: noop,
    crit: noop,
    log: noop,
    withTags: noop,
    warnings
  }
}

interface RunOptions {
  settings?: Partial<Settings>
  mapping?: JSONObject
  logger?: Logger
}

/** Runs `action` with its default mapping (plus `mapping`) and returns the one request CSB received. */
export async function runAction(
  csb: FakeCsb,
  action: string,
  event: Partial<SegmentEvent>,
  options: RunOptions = {}
): Promise<CsbRequest> {
  csb.clearRequests()
  await createTestIntegration(destination).testAction(action, {
    event,
    settings: { ...settingsFor(csb.url), apiKey: csb.apiKey, ...options.settings },
    mapping: options.mapping,
    useDefaultMappings: true,
    logger: options.logger
  })
  const requests = csb.requests()
  if (requests.length !== 1) throw new Error(`expected 1 request, got ${requests.length}`)
  return requests[0]
}

export type ThrownError = Error & { status?: number }

/** The error `action` throws for `event`, as actions-core throws it (fails if it does not throw). */
export async function actionError(
  action: string,
  event: Partial<SegmentEvent>,
  options: { settings?: Partial<Settings>; mapping?: JSONObject } = {}
): Promise<ThrownError> {
  const outcome = await createTestIntegration(destination)
    .testAction(action, {
      event,
      settings: { ...settingsFor(FAKE_CSB_URL), ...options.settings },
      mapping: options.mapping,
      useDefaultMappings: true
    })
    .then(
      () => undefined,
      (e: ThrownError) => e
    )
  if (!outcome) throw new Error(`expected ${action} to throw`)
  return outcome
}

/** The error for `event` as the relay reports it: a missing id says where the mapping looked. */
export async function reportedError(
  action: string,
  event: Partial<SegmentEvent>,
  options: { mapping?: JSONObject } = {}
): Promise<ThrownError> {
  const error = await actionError(action, event, options)
  const mapping = { ...defaultValues(destination.actions[action].fields), ...options.mapping }
  return explainActionError(error, action, mapping) as ThrownError
}
