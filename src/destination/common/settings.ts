/**
 * Reading the destination's settings: the base URL (validated, with a message that shows what a
 * right one looks like), the Authorization header for either scheme, and the defaults applied
 * when an optional setting is absent.
 */
import { IntegrationError } from '@segment/actions-core'
import type { Settings } from '../generated-types'
import { BASE_URL_EXAMPLE, DEFAULT_MODULE_ID, DEFAULT_PRODUCT_ID } from './constants'

/** Hosts that may use plain http://, so that a local sandbox works. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

const API_PATH = /\/api(_js)?(\/|$)/

/** A wrong setting: not retryable, status 400, code INVALID_SETTINGS. */
export class InvalidSettingsError extends IntegrationError {
  constructor(message: string) {
    super(message, 'INVALID_SETTINGS', 400)
  }
}

/**
 * Returns the problem with `value` as a base URL, or null when it is fine. The message never
 * repeats the value itself (someone may have pasted a key into the wrong box).
 */
export function baseUrlProblem(value: unknown): string | null {
  const hint = `it should look like ${BASE_URL_EXAMPLE}`
  if (typeof value !== 'string' || value.trim() === '') {
    return `baseUrl is required: your CustomerSuccessBox address; ${hint}`
  }
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    return `baseUrl is not a valid URL; ${hint}`
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    return `baseUrl must use https:// (http:// is allowed only for 127.0.0.1, localhost and [::1]); ${hint}`
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `baseUrl must start with https:// (got ${url.protocol}//); ${hint}`
  }
  if (url.username || url.password) {
    return `baseUrl must not contain a user name or password (the API key goes in apiKey); ${hint}`
  }
  if (url.search || url.hash || value.includes('?') || value.includes('#')) {
    return `baseUrl must not contain a query string or fragment; ${hint}`
  }
  if (API_PATH.test(url.pathname)) {
    return `baseUrl must be the tenant's address without the /api... path; ${hint}`
  }
  return null
}

/** The validated base URL without a trailing slash; throws InvalidSettingsError otherwise. */
export function baseUrlOf(settings: Pick<Settings, 'baseUrl'>): string {
  const problem = baseUrlProblem(settings.baseUrl)
  if (problem) throw new InvalidSettingsError(problem)
  const url = new URL(settings.baseUrl.trim())
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** `Bearer <key>` (default) or `Basic base64(<key>:)`, per `authScheme`. */
export function authorizationHeader(settings: Pick<Settings, 'apiKey' | 'authScheme'>): string {
  const key = settings.apiKey ?? ''
  if (settings.authScheme === 'basic') {
    return `Basic ${Buffer.from(`${key}:`, 'utf8').toString('base64')}`
  }
  return `Bearer ${key}`
}

export function productIdDefault(settings: Settings): string {
  return nonEmpty(settings.defaultProductId) ?? DEFAULT_PRODUCT_ID
}

export function moduleIdDefault(settings: Settings): string {
  return nonEmpty(settings.defaultModuleId) ?? DEFAULT_MODULE_ID
}

function nonEmpty(value: string | undefined): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined
}
