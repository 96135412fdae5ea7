import type { ActionDefinition } from '@segment/actions-core'
import type { Settings } from '../generated-types'
import type { Payload } from './generated-types'
import { flattenAttributes, omitKeys, prefixCustomKeys } from '../common/attributes'
import { CALL_NAMES, CSB_PATHS, STANDARD_ACCOUNT_KEYS } from '../common/constants'
import { accountIdField } from '../common/fields'
import { requireId } from '../common/ids'
import { postToCsb } from '../common/request'

const fields: ActionDefinition<Settings, Payload>['fields'] = {
  account_id: accountIdField(
    'The CustomerSuccessBox account. Defaults to traits.account_id, else the Segment groupId.',
    '$.traits.account_id',
    '$.groupId'
  ),
  traits: {
    label: 'Account Attributes',
    description:
      'Attributes set on the account, sent as top-level keys. Nested objects are flattened with "_" (address.city becomes address_city).',
    type: 'object',
    default: { '@path': '$.traits' }
  }
}

const action: ActionDefinition<Settings, Payload> = {
  title: 'Upsert Account',
  description: 'Create or update an account and its attributes in CustomerSuccessBox (POST /api/v1_1/account).',
  defaultSubscription: 'type = "group"',
  fields,
  perform: (request, data) => {
    const { payload, settings } = data
    const context = {
      rawMapping: (data as { rawMapping?: unknown }).rawMapping,
      fields,
      call: CALL_NAMES.upsertAccount
    }
    const account_id = requireId(payload.account_id, 'account_id', context)
    let attributes = omitKeys(flattenAttributes(payload.traits), ['account_id'])
    if (settings.prefixCustomTraits) attributes = prefixCustomKeys(attributes, STANDARD_ACCOUNT_KEYS)
    return postToCsb(request, settings, CSB_PATHS.account, { account_id, ...attributes })
  }
}

export default action
