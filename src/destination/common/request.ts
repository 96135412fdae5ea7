/**
 * Sends one JSON body to one CSB endpoint and turns the outcome into a result or a typed error.
 * Every action sends through here, so every action maps errors the same way.
 */
import type { JSONObject, JSONValue, ModifiedResponse, RequestClient } from '@segment/actions-core'
import type { Settings } from '../generated-types'
import type { CsbPath } from './constants'
import { errorForHttpStatus, errorForNetworkFailure, rejectionError } from './errors'
import { scrubText } from './scrub'
import { baseUrlOf } from './settings'

/** What every action returns (the `data` of its "Action Executed" result). */
export interface CsbDelivery extends JSONObject {
  /** The endpoint path the event went to. */
  endpoint: CsbPath
  /** CSB's HTTP status (2xx here; failures are thrown). */
  status: number
  /** CSB's parsed JSON answer, or its text. */
  response: JSONValue
  /** Non-fatal problems, e.g. a name truncated to 64 characters. */
  warnings: string[]
}

const MAX_DETAIL = 300

/** POSTs `body` to `path` under the configured base URL. Throws a typed error on any failure. */
export async function postToCsb(
  request: RequestClient,
  settings: Settings,
  path: CsbPath,
  body: Record<string, unknown>,
  warnings: string[] = []
): Promise<CsbDelivery> {
  const url = `${baseUrlOf(settings)}${path}`
  let response: ModifiedResponse
  try {
    response = await request(url, { method: 'POST', json: body, throwHttpErrors: false })
  } catch (err) {
    throw errorForNetworkFailure(err, url)
  }
  const answer = response.data ?? response.content
  if (response.status < 200 || response.status > 299) {
    throw errorForHttpStatus({
      status: response.status,
      statusText: response.statusText,
      path,
      retryAfter: response.headers.get('retry-after'),
      detail: describeAnswer(answer, settings)
    })
  }
  if (isObject(answer) && answer.success === false) {
    throw rejectionError(path, messageOf(answer, settings))
  }
  return { endpoint: path, status: response.status, response: toJson(answer), warnings }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** CSB's `message` / `error` when it sent one, else a short excerpt of the body. */
function describeAnswer(answer: unknown, settings: Settings): string | undefined {
  if (isObject(answer)) return messageOf(answer, settings) ?? excerpt(JSON.stringify(answer), settings)
  if (typeof answer === 'string' && answer.trim() !== '') return excerpt(answer, settings)
  return undefined
}

function messageOf(answer: Record<string, unknown>, settings: Settings): string | undefined {
  for (const key of ['message', 'error', 'errors']) {
    const value = answer[key]
    if (typeof value === 'string' && value.trim() !== '') return excerpt(value, settings)
    if (value !== undefined && value !== null && typeof value === 'object')
      return excerpt(JSON.stringify(value), settings)
  }
  return undefined
}

function excerpt(text: string, settings: Settings): string {
  const clean = scrubText(text, [settings.apiKey]).replace(/\s+/g, ' ').trim()
  return clean.length > MAX_DETAIL ? `${clean.slice(0, MAX_DETAIL)}…` : clean
}

function toJson(value: unknown): JSONValue {
  if (value === undefined) return null
  return value as JSONValue
}
