import { PayloadValidationError } from '@segment/actions-core'
import type { ActionDefinition } from '@segment/actions-core'
import type { Settings } from '../generated-types'
import type { Payload } from './generated-types'
import { prefixCustomKeys } from '../common/attributes'
import {
  AUDIENCE_ENTERED_EVENT,
  AUDIENCE_EXITED_EVENT,
  CALL_NAMES,
  CSB_PATHS,
  STANDARD_USER_KEYS
} from '../common/constants'
import { accountIdField, firstOf, userIdField } from '../common/fields'
import { requireId } from '../common/ids'
import { postToCsb } from '../common/request'

const fields: ActionDefinition<Settings, Payload>['fields'] = {
  account_id: accountIdField(
    'The CustomerSuccessBox account the user belongs to: traits.account_id (identify) or properties.account_id (track).',
    '$.traits.account_id',
    '$.properties.account_id'
  ),
  user_id: userIdField(
    'The CustomerSuccessBox user: traits.user_id, else properties.user_id, else the Segment userId.',
    '$.traits.user_id',
    '$.properties.user_id',
    '$.userId'
  ),
  audience_key: {
    label: 'Audience Key',
    description: 'The user attribute that records membership (the snake_cased audience name Engage sends).',
    type: 'string',
    required: true,
    default: { '@path': '$.context.personas.computation_key' }
  },
  event_name: {
    label: 'Event Name',
    description: `For track calls: "${AUDIENCE_ENTERED_EVENT}" means true, "${AUDIENCE_EXITED_EVENT}" false, when the properties carry no boolean under the audience key.`,
    type: 'string',
    default: { '@path': '$.event' }
  },
  membership_values: {
    label: 'Membership Values',
    description:
      "The object holding the membership flag under the audience key: the identify call's traits, or the track call's properties.",
    type: 'object',
    default: firstOf('$.traits', '$.properties')
  }
}

const action: ActionDefinition<Settings, Payload> = {
  title: 'Sync Audience',
  description:
    'Set an Engage audience membership as a boolean user attribute (POST /api/v1_1/user), from audience identify calls and Audience Entered / Exited tracks.',
  defaultSubscription:
    '(type = "identify" and context.personas.computation_class = "audience") or (type = "track" and event = "Audience Entered") or (type = "track" and event = "Audience Exited")',
  fields,
  perform: (request, data) => {
    const { payload, settings } = data
    const context = { rawMapping: (data as { rawMapping?: unknown }).rawMapping, fields, call: CALL_NAMES.syncAudience }
    const account_id = requireId(payload.account_id, 'account_id', context)
    const user_id = requireId(payload.user_id, 'user_id', context)
    const audienceKey = requireId(payload.audience_key, 'audience_key', context)
    const member = membershipOf(payload, audienceKey, data.audienceMembership)
    let attribute: Record<string, boolean> = { [audienceKey]: member }
    if (settings.prefixCustomTraits)
      attribute = prefixCustomKeys(attribute, STANDARD_USER_KEYS) as Record<string, boolean>
    return postToCsb(request, settings, CSB_PATHS.user, { account_id, user_id, ...attribute })
  }
}

/**
 * Membership, in order: a boolean under the audience key in the traits / properties; the event
 * name (Audience Entered / Exited); what actions-core resolved from the Engage context.
 */
function membershipOf(payload: Payload, audienceKey: string, resolved: unknown): boolean {
  const value = payload.membership_values?.[audienceKey]
  if (typeof value === 'boolean') return value
  if (value === 'true' || value === 'false') return value === 'true'
  if (payload.event_name === AUDIENCE_ENTERED_EVENT) return true
  if (payload.event_name === AUDIENCE_EXITED_EVENT) return false
  if (typeof resolved === 'boolean') return resolved
  throw new PayloadValidationError(
    `audience membership is missing: looked for a boolean at traits.${audienceKey} / properties.${audienceKey} and for the event "${AUDIENCE_ENTERED_EVENT}" / "${AUDIENCE_EXITED_EVENT}"; send ${audienceKey}: true or false, or remap the membership_values field`
  )
}

export default action
