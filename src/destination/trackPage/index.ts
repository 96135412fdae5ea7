import type { ActionDefinition } from '@segment/actions-core'
import type { Settings } from '../generated-types'
import type { Payload } from './generated-types'
import { flattenAttributes, isoTimestamp, omitKeys } from '../common/attributes'
import { CALL_NAMES, CSB_PATHS } from '../common/constants'
import { accountIdField, firstOf, timestampField, userIdField } from '../common/fields'
import { requireId } from '../common/ids'
import { postToCsb } from '../common/request'

/** Page fields read from properties first, then from context.page. */
const PAGE_KEYS = ['url', 'path', 'title', 'referrer'] as const

function pageField(
  key: typeof PAGE_KEYS[number],
  label: string
): ActionDefinition<Settings, Payload>['fields'][string] {
  return {
    label,
    description: `The page's ${key}: properties.${key}, else context.page.${key}.`,
    type: 'string',
    default: firstOf(`$.properties.${key}`, `$.context.page.${key}`)
  }
}

const fields: ActionDefinition<Settings, Payload>['fields'] = {
  account_id: accountIdField('The CustomerSuccessBox account the user belongs to.', '$.properties.account_id'),
  user_id: userIdField(
    'The CustomerSuccessBox user. Defaults to properties.user_id, else the Segment userId.',
    '$.properties.user_id',
    '$.userId'
  ),
  name: {
    label: 'Page Name',
    description: 'The name of the page (the first argument of analytics.page).',
    type: 'string',
    default: { '@path': '$.name' }
  },
  url: pageField('url', 'URL'),
  path: pageField('path', 'Path'),
  title: pageField('title', 'Title'),
  referrer: pageField('referrer', 'Referrer'),
  timestamp: timestampField,
  properties: {
    label: 'Other Properties',
    description:
      'Sent as top-level keys after the fields above (ids and the page fields are not repeated). Nested objects are flattened with "_".',
    type: 'object',
    default: { '@path': '$.properties' }
  }
}

const action: ActionDefinition<Settings, Payload> = {
  title: 'Track Page',
  description: 'Record a page view (POST /api_js/v1_1/page) as a flat snake_case body.',
  defaultSubscription: 'type = "page"',
  fields,
  perform: (request, data) => {
    const { payload, settings } = data
    const context = { rawMapping: (data as { rawMapping?: unknown }).rawMapping, fields, call: CALL_NAMES.trackPage }
    const account_id = requireId(payload.account_id, 'account_id', context)
    const user_id = requireId(payload.user_id, 'user_id', context)
    const known = ['type', 'account_id', 'user_id', 'name', 'timestamp', ...PAGE_KEYS]
    const rest = omitKeys(flattenAttributes(payload.properties), known)
    const timestamp = isoTimestamp(payload.timestamp)
    const body: Record<string, unknown> = { type: 'page', account_id, user_id }
    if (payload.name !== undefined) body.name = payload.name
    for (const key of PAGE_KEYS) if (payload[key] !== undefined) body[key] = payload[key]
    if (timestamp) body.timestamp = timestamp
    return postToCsb(request, settings, CSB_PATHS.page, { ...body, ...rest })
  }
}

export default action
