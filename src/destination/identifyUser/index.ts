import type { ActionDefinition } from '@segment/actions-core'
import type { Settings } from '../generated-types'
import type { Payload } from './generated-types'
import { flattenAttributes, omitKeys, prefixCustomKeys } from '../common/attributes'
import { CALL_NAMES, CSB_PATHS, STANDARD_USER_KEYS } from '../common/constants'
import { accountIdField, userIdField } from '../common/fields'
import { requireId } from '../common/ids'
import { postToCsb } from '../common/request'

const fields: ActionDefinition<Settings, Payload>['fields'] = {
  account_id: accountIdField('The CustomerSuccessBox account the user belongs to.', '$.traits.account_id'),
  user_id: userIdField(
    'The CustomerSuccessBox user. Defaults to traits.user_id, else the Segment userId.',
    '$.traits.user_id',
    '$.userId'
  ),
  traits: {
    label: 'User Attributes',
    description:
      'Attributes set on the user, sent as top-level keys. Nested objects are flattened with "_" (address.city becomes address_city).',
    type: 'object',
    default: { '@path': '$.traits' }
  }
}

const action: ActionDefinition<Settings, Payload> = {
  title: 'Identify User',
  description: 'Create or update a user and its attributes in CustomerSuccessBox (POST /api/v1_1/user).',
  defaultSubscription: 'type = "identify" and context.personas.computation_class != "audience"',
  fields,
  perform: (request, data) => {
    const { payload, settings } = data
    const context = { rawMapping: (data as { rawMapping?: unknown }).rawMapping, fields, call: CALL_NAMES.identifyUser }
    const account_id = requireId(payload.account_id, 'account_id', context)
    const user_id = requireId(payload.user_id, 'user_id', context)
    let attributes = omitKeys(flattenAttributes(payload.traits), ['account_id', 'user_id'])
    if (settings.prefixCustomTraits) attributes = prefixCustomKeys(attributes, STANDARD_USER_KEYS)
    return postToCsb(request, settings, CSB_PATHS.user, { account_id, user_id, ...attributes })
  }
}

export default action
