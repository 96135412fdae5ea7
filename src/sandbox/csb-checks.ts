/**
 * CustomerSuccessBox's own behaviour, as far as the spec records it: which paths exist, which ids
 * each requires, and the order of its checks (key, then body, then success).
 */

/** Each CSB endpoint and the ids its body must carry. */
export const CSB_ENDPOINTS: ReadonlyMap<string, readonly string[]> = new Map([
  ['/api/v1_1/user', ['account_id', 'user_id']],
  ['/api/v1_1/account', ['account_id']],
  ['/api/v1_1/feature', ['account_id', 'user_id', 'product_id', 'module_id', 'feature_id']],
  ['/api/v1_1/login', ['account_id', 'user_id']],
  ['/api/v1_1/logout', ['account_id', 'user_id']],
  ['/api_js/v1_1/page', ['account_id', 'user_id']]
])

export interface CsbAnswer {
  status: number
  body: { success: boolean; message?: string; missing?: string[] }
}

const SUCCESS: CsbAnswer = { status: 200, body: { success: true } }

/** Whether an `Authorization` header carries `apiKey` as Bearer or as Basic `key:` (empty password). */
export function checkAuthorization(header: string | undefined, apiKey: string): CsbAnswer | null {
  if (!header || !header.trim()) {
    return unauthorized('missing API key: send "Authorization: Bearer <key>" or HTTP Basic with the key as user name and an empty password')
  }
  const space = header.indexOf(' ')
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase()
  const credential = space < 0 ? '' : header.slice(space + 1).trim()
  if (scheme === 'bearer') {
    return credential === apiKey ? null : unauthorized('invalid API key')
  }
  if (scheme === 'basic') {
    const decoded = Buffer.from(credential, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return unauthorized('invalid Basic credentials: expected base64("<key>:")')
    const user = decoded.slice(0, colon)
    const password = decoded.slice(colon + 1)
    return user === apiKey && password === '' ? null : unauthorized('invalid API key')
  }
  return unauthorized(`unsupported authorization scheme "${scheme}": use Bearer or Basic`)
}

function unauthorized(message: string): CsbAnswer {
  return { status: 401, body: { success: false, message } }
}

function badRequest(message: string, missing?: string[]): CsbAnswer {
  return { status: 400, body: missing ? { success: false, message, missing } : { success: false, message } }
}

export type ParsedBody = { ok: true; value: unknown } | { ok: false; text: string; error: string }

/** Parses a body once; the recorder keeps `value`, or the raw text when it is not JSON. */
export function parseBody(text: string): ParsedBody {
  if (text.length === 0) return { ok: false, text, error: 'empty body' }
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch (err) {
    return { ok: false, text, error: `invalid JSON: ${(err as Error).message}` }
  }
}

function isMissing(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
}

/** CSB's checks on a request to one of its endpoints, after any injected fault has passed it by. */
export function answerCsbRequest(required: readonly string[], authorization: string | undefined, apiKey: string, body: ParsedBody): CsbAnswer {
  const authFailure = checkAuthorization(authorization, apiKey)
  if (authFailure) return authFailure
  if (!body.ok) return badRequest(body.error === 'empty body' ? 'empty body: send a JSON object' : body.error)
  const value = body.value
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return badRequest('the body must be a JSON object')
  }
  const record = value as Record<string, unknown>
  const missing = required.filter((field) => isMissing(record[field]))
  if (missing.length === 1) return badRequest(`missing required field: ${missing[0]}`, missing)
  if (missing.length > 1) return badRequest(`missing required fields: ${missing.join(', ')}`, missing)
  const wrongType = required.find((field) => typeof record[field] !== 'string' && typeof record[field] !== 'number')
  if (wrongType) return badRequest(`${wrongType} must be a string (got ${Array.isArray(record[wrongType]) ? 'array' : typeof record[wrongType]})`)
  return SUCCESS
}
