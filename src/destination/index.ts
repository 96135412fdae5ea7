/**
 * The CustomerSuccessBox destination: a Segment Actions definition on @segment/actions-core.
 * Load it from another project with `require('csb-relay/destination')`.
 */
import { defaultValues, InvalidAuthenticationError } from '@segment/actions-core'
import type { DestinationDefinition, ModifiedResponse, Preset, RequestClient } from '@segment/actions-core'
import type { Settings } from './generated-types'
import { BASE_URL_EXAMPLE, CALL_NAMES, CSB_PATHS, DEFAULT_MODULE_ID, DEFAULT_PRODUCT_ID } from './common/constants'
import { errorForNetworkFailure } from './common/errors'
import { explainMissingIds } from './common/ids'
import { authorizationHeader, baseUrlOf, InvalidSettingsError } from './common/settings'
import identifyUser from './identifyUser'
import syncAudience from './syncAudience'
import trackFeature from './trackFeature'
import trackPage from './trackPage'
import upsertAccount from './upsertAccount'

const actions = { identifyUser, upsertAccount, trackFeature, trackPage, syncAudience }

const presets: Preset[] = [
  { name: 'Identify Calls', partnerAction: 'identifyUser', type: 'automatic' },
  { name: 'Group Calls', partnerAction: 'upsertAccount', type: 'automatic' },
  { name: 'Track Calls', partnerAction: 'trackFeature', type: 'automatic' },
  { name: 'Page Calls', partnerAction: 'trackPage', type: 'automatic' },
  { name: 'Engage Audiences', partnerAction: 'syncAudience', type: 'automatic' }
].map((preset) => {
  const action = actions[preset.partnerAction as keyof typeof actions]
  return {
    ...preset,
    subscribe: action.defaultSubscription as string,
    mapping: defaultValues(action.fields)
  } as Preset
})

/**
 * Decides whether CSB accepts the key without creating anything: POST `{}` to /api/v1_1/account.
 * CSB checks the key first (401 = rejected), then the body (400 for the missing account_id =
 * key accepted, nothing created). A 2xx also means accepted. Anything else is reported as
 * "could not verify", with the status, since it says nothing about the key.
 */
async function testAuthentication(request: RequestClient, settings: Settings): Promise<boolean> {
  const url = `${baseUrlOf(settings)}${CSB_PATHS.account}`
  let response: ModifiedResponse
  try {
    response = await request(url, { method: 'POST', json: {}, throwHttpErrors: false })
  } catch (err) {
    throw errorForNetworkFailure(err, url)
  }
  if (response.status === 401) {
    throw withStatus(
      new InvalidAuthenticationError(
        'CustomerSuccessBox rejected the API key (401). Copy "API key for POST request" from Settings > Developer Console > API Key, and check authScheme (bearer or basic).'
      ),
      response.status
    )
  }
  if (response.status === 400 || (response.status >= 200 && response.status < 300)) return true
  throw withStatus(
    new InvalidSettingsError(
      `Could not verify the API key: POST ${CSB_PATHS.account} answered ${response.status} (expected 400 for an accepted key or 401 for a rejected one). Check that baseUrl is your tenant's address, like ${BASE_URL_EXAMPLE}.`
    ),
    response.status
  )
}

/** actions-core's testAuthentication puts `error.response.status` in front of the message. */
function withStatus<E extends Error>(error: E, status: number): E {
  return Object.assign(error, { response: { status } })
}

export const destination: DestinationDefinition<Settings> = {
  // A valid URI scheme (letters only): actions-core uses `${name}:settings` as an Ajv schema id,
  // which newer fast-uri releases reject when the part before ":" has spaces or parentheses.
  name: 'CustomerSuccessBox',
  slug: 'actions-customersuccessbox',
  mode: 'cloud',
  description:
    'Send identify, group, track and page calls, and Engage audiences, to CustomerSuccessBox as users, accounts, feature usage and page views.',
  authentication: {
    scheme: 'custom',
    fields: {
      apiKey: {
        label: 'API Key',
        description:
          'The "API key for POST request" from CustomerSuccessBox: Settings (gear icon) > Developer Console > API Key.',
        type: 'password',
        required: true
      },
      baseUrl: {
        label: 'Base URL',
        description: `Your CustomerSuccessBox address, like ${BASE_URL_EXAMPLE}. https:// only; http:// is allowed for 127.0.0.1, localhost and [::1] (a local sandbox).`,
        type: 'string',
        format: 'uri',
        required: true
      },
      authScheme: {
        label: 'Authorization Scheme',
        description:
          'How the key is sent: "bearer" (Authorization: Bearer <key>, the default) or "basic" (HTTP Basic, the key as user name, empty password).',
        type: 'string',
        choices: [
          { label: 'Bearer', value: 'bearer' },
          { label: 'Basic', value: 'basic' }
        ],
        default: 'bearer'
      },
      defaultProductId: {
        label: 'Default Product',
        description: `Product for track events without properties.product_id. Default "${DEFAULT_PRODUCT_ID}".`,
        type: 'string',
        default: DEFAULT_PRODUCT_ID
      },
      defaultModuleId: {
        label: 'Default Module',
        description: `Module for track events without properties.module_id. Default "${DEFAULT_MODULE_ID}".`,
        type: 'string',
        default: DEFAULT_MODULE_ID
      },
      prefixCustomTraits: {
        label: 'Prefix Custom Traits',
        description:
          'Send user and account attributes that are not CustomerSuccessBox standard attributes as custom_<name>. Default off.',
        type: 'boolean',
        default: false
      }
    },
    testAuthentication: (request, { settings }) => testAuthentication(request, settings)
  },
  extendRequest: ({ settings }) => ({
    headers: {
      Authorization: authorizationHeader(settings),
      'Content-Type': 'application/json',
      Accept: 'application/json'
    }
  }),
  presets,
  actions
}

/**
 * Names under which Segment's `integrations` object may name this destination
 * (`integrations: { CustomerSuccessBox: false }`).
 */
export const INTEGRATION_NAMES: readonly string[] = Array.from(
  new Set(['CustomerSuccessBox', 'CustomerSuccessBox (Actions)', 'Actions CustomerSuccessBox', destination.name])
)

/**
 * `error` as the relay reports it: when actions-core refused `action`'s payload for a missing
 * required id, a PayloadValidationError naming the event paths `mapping` read for it (Segment's
 * own runtime shows actions-core's message instead); any other error unchanged.
 */
export function explainActionError(error: unknown, action: string, mapping?: unknown): unknown {
  const definition = destination.actions[action]
  if (!definition) return error
  return explainMissingIds(error, {
    rawMapping: mapping,
    fields: definition.fields,
    call: CALL_NAMES[action] ?? action
  })
}

export type { Settings } from './generated-types'
export type { CsbDelivery } from './common/request'
export type { CsbErrorDetails } from './common/errors'
export { CsbRejectionError } from './common/errors'
export { InvalidSettingsError, baseUrlProblem } from './common/settings'
export { CSB_PATHS, DEFAULT_MODULE_ID, DEFAULT_PRODUCT_ID } from './common/constants'
export {
  CSB_MAX_DISTINCT_NAMES,
  FEATURE_NAME_FIELDS,
  FEATURE_TIMESTAMP_FIELD,
  isFeatureRequest
} from './common/feature-names'
export { REDACTED, createScrubber, scrubText } from './common/scrub'
export type { Scrubber } from './common/scrub'
export { CUSTOMERSUCCESSBOX_API_VERSION } from './versioning-info'

export default destination
