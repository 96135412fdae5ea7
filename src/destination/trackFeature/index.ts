import type { ActionDefinition } from '@segment/actions-core'
import type { Settings } from '../generated-types'
import type { Payload } from './generated-types'
import { idString, isoTimestamp } from '../common/attributes'
import { CALL_NAMES, CSB_PATHS, LOGIN_EVENT, LOGOUT_EVENT } from '../common/constants'
import { accountIdField, timestampField, userIdField } from '../common/fields'
import { requireId } from '../common/ids'
import { postToCsb } from '../common/request'
import { moduleIdDefault, productIdDefault } from '../common/settings'
import { truncateName, Warnings } from '../common/warnings'

const fields: ActionDefinition<Settings, Payload>['fields'] = {
  account_id: accountIdField('The CustomerSuccessBox account the user belongs to.', '$.properties.account_id'),
  user_id: userIdField(
    'The CustomerSuccessBox user. Defaults to properties.user_id, else the Segment userId.',
    '$.properties.user_id',
    '$.userId'
  ),
  event_name: {
    label: 'Event Name',
    description: `Decides the endpoint: "${LOGIN_EVENT}" goes to /api/v1_1/login, "${LOGOUT_EVENT}" to /api/v1_1/logout, anything else to /api/v1_1/feature.`,
    type: 'string',
    default: { '@path': '$.event' }
  },
  feature_id: {
    label: 'Feature',
    description: 'The feature name shown in CustomerSuccessBox; at most 64 characters are kept.',
    type: 'string',
    required: true,
    default: { '@path': '$.event' }
  },
  module_id: {
    label: 'Module',
    description:
      'The module the feature belongs to; the defaultModuleId setting when empty. At most 64 characters are kept.',
    type: 'string',
    default: { '@path': '$.properties.module_id' }
  },
  product_id: {
    label: 'Product',
    description:
      'The product the module belongs to; the defaultProductId setting when empty. At most 64 characters are kept.',
    type: 'string',
    default: { '@path': '$.properties.product_id' }
  },
  total: {
    label: 'Total',
    description: 'How many times the feature was used; a whole number of 0 or more, else 1 (with a warning).',
    type: 'number',
    default: { '@path': '$.properties.total' }
  },
  timestamp: timestampField
}

const action: ActionDefinition<Settings, Payload> = {
  title: 'Track Feature',
  description:
    'Record feature usage (POST /api/v1_1/feature), or a login / logout for the events "User Login" / "User Logout".',
  defaultSubscription: 'type = "track" and event != "Audience Entered" and event != "Audience Exited"',
  fields,
  perform: (request, data) => {
    const { payload, settings } = data
    const context = { rawMapping: (data as { rawMapping?: unknown }).rawMapping, fields, call: CALL_NAMES.trackFeature }
    const warnings = new Warnings(data.logger)
    const account_id = requireId(payload.account_id, 'account_id', context)
    const user_id = requireId(payload.user_id, 'user_id', context)
    const timestamp = isoTimestamp(payload.timestamp)

    if (payload.event_name === LOGIN_EVENT || payload.event_name === LOGOUT_EVENT) {
      const path = payload.event_name === LOGIN_EVENT ? CSB_PATHS.login : CSB_PATHS.logout
      const body = {
        account_id,
        user_id,
        type: 'track',
        event: payload.event_name,
        ...(timestamp ? { timestamp } : {})
      }
      return postToCsb(request, settings, path, body, warnings.messages)
    }

    const feature_id = truncateName(requireId(payload.feature_id, 'feature_id', context), 'feature_id', warnings)
    const module_id = truncateName(idString(payload.module_id) ?? moduleIdDefault(settings), 'module_id', warnings)
    const product_id = truncateName(idString(payload.product_id) ?? productIdDefault(settings), 'product_id', warnings)
    const body = {
      account_id,
      user_id,
      product_id,
      module_id,
      feature_id,
      total: totalOf(payload.total, warnings),
      type: 'feature',
      ...(timestamp ? { timestamp } : {})
    }
    return postToCsb(request, settings, CSB_PATHS.feature, body, warnings.messages)
  }
}

/** A whole number of 0 or more; absent means 1; anything else is 1 with a warning. */
function totalOf(value: number | undefined, warnings: Warnings): number {
  if (value === undefined || value === null) return 1
  if (Number.isInteger(value) && value >= 0) return value
  warnings.add(`total ${String(value)} is not a whole number of 0 or more; sent total 1`)
  return 1
}

export default action
