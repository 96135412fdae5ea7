/**
 * What the relay's delivery needs to know about CSB's feature requests, from the destination that
 * builds them: which requests they are, which body fields name a module and a feature, how many
 * distinct names CSB keeps, and which field holds the event's own time (spec, "Ids").
 */
import { CSB_PATHS } from './constants'

/** CSB keeps at most this many distinct feature names, and as many module names, per instance. */
export const CSB_MAX_DISTINCT_NAMES = 256

/** The body fields of a feature request that name its module and its feature. */
export const FEATURE_NAME_FIELDS = { module: 'module_id', feature: 'feature_id' } as const

/**
 * The body field of a feature request with the event's own time (ISO 8601). CSB aggregates a
 * feature event into the UTC day it is pushed on; one whose own time is on another UTC day is
 * kept but not aggregated.
 */
export const FEATURE_TIMESTAMP_FIELD = 'timestamp'

/** The feature endpoint's version and name (`/v1_1/feature`), the same under the API (`/api`) and the older browser API (`/api_js`). */
const FEATURE_ENDPOINT = CSB_PATHS.feature.slice(CSB_PATHS.feature.indexOf('/', 1))

/** Whether a request URL goes to CSB's feature endpoint (a query is ignored). */
export function isFeatureRequest(url: string): boolean {
  // Called on every request to CSB: no copy of the URL when it has no query.
  const query = url.indexOf('?')
  return (query < 0 ? url : url.slice(0, query)).endsWith(FEATURE_ENDPOINT)
}
