/**
 * Every CustomerSuccessBox-specific constant the destination relies on, in one place: endpoint
 * paths, setting defaults, limits, and the standard attribute names the spec records.
 */
import { CUSTOMERSUCCESSBOX_API_VERSION } from '../versioning-info'

const API = `/api/${CUSTOMERSUCCESSBOX_API_VERSION}` as const
const API_JS = `/api_js/${CUSTOMERSUCCESSBOX_API_VERSION}` as const

/** Endpoint paths, relative to the tenant's base URL (`https://<tenant>.customersuccessbox.com`). */
export const CSB_PATHS = {
  user: `${API}/user`,
  account: `${API}/account`,
  feature: `${API}/feature`,
  login: `${API}/login`,
  logout: `${API}/logout`,
  page: `${API_JS}/page`
} as const

export type CsbPath = typeof CSB_PATHS[keyof typeof CSB_PATHS]

/**
 * How each action's call is named in a missing-id message ("set traits.account_id in the
 * identify call").
 */
export const CALL_NAMES: Readonly<Record<string, string>> = {
  identifyUser: 'identify',
  upsertAccount: 'group',
  trackFeature: 'track',
  trackPage: 'page',
  syncAudience: 'identify or track'
}

/** Product a feature event is filed under when the track call names none (setting `defaultProductId`). */
export const DEFAULT_PRODUCT_ID = 'Default Product'
/** Module a feature event is filed under when the track call names none (setting `defaultModuleId`). */
export const DEFAULT_MODULE_ID = 'Default Module'
/** Authorization scheme used when the setting is absent. */
export const DEFAULT_AUTH_SCHEME = 'bearer'

/** CSB keeps at most this many characters of a feature, module or product name. */
export const MAX_NAME_LENGTH = 64

/** Track events sent to `/login` and `/logout` instead of `/feature`. */
export const LOGIN_EVENT = 'User Login'
export const LOGOUT_EVENT = 'User Logout'

/** Engage's audience track events. */
export const AUDIENCE_ENTERED_EVENT = 'Audience Entered'
export const AUDIENCE_EXITED_EVENT = 'Audience Exited'

/** The prefix CSB's SDK examples put on custom attributes (setting `prefixCustomTraits`). */
export const CUSTOM_PREFIX = 'custom_'

/** User attributes seen on the wire in CSB's SDKs; all other keys are "custom". */
export const STANDARD_USER_KEYS: readonly string[] = [
  'account_id',
  'user_id',
  'first_name',
  'last_name',
  'email',
  'phone',
  'role',
  'created_on'
]

/** Account attributes seen on the wire in CSB's SDKs; all other keys are "custom". */
export const STANDARD_ACCOUNT_KEYS: readonly string[] = [
  'account_id',
  'name',
  'email',
  'phone',
  'sales_manager',
  'created_on',
  'updated_on',
  'billing_street',
  'billing_city',
  'billing_state',
  'billing_postal_code',
  'billing_country'
]

/** What a right `baseUrl` looks like, quoted in every message about a wrong one. */
export const BASE_URL_EXAMPLE = 'https://<tenant>.customersuccessbox.com'
