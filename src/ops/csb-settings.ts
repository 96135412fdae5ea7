/**
 * CSB settings given at runtime (admin API `PUT /api/csb`): checked, kept in the store's meta
 * table so that a restart keeps them, and applied to delivery. Settings from the environment or
 * the config file win over them at start; while those are in force the admin API refuses to
 * change them (change them where they are set).
 */
import type { CsbSettings } from '../delivery'
import type { Store } from '../store/types'

export const CSB_SETTINGS_META = 'csb.settings'

/** Where the settings in force come from. */
export type CsbSource = 'configuration' | 'admin API'

export interface CsbState {
  configured: boolean
  source: CsbSource | null
  baseUrl: string | null
  authScheme: 'bearer' | 'basic' | null
}

/** An admin request the relay refuses; `statusCode` is the HTTP status the admin API answers. */
export class CsbSettingsError extends Error {
  constructor(
    readonly statusCode: 400 | 409,
    message: string
  ) {
    super(message)
    this.name = 'CsbSettingsError'
  }
}

const FIELDS = ['apiKey', 'baseUrl', 'authScheme', 'defaultProductId', 'defaultModuleId', 'prefixCustomTraits'] as const

/** The settings in a request body (or a stored value), or a CsbSettingsError (400) naming the field. */
export function parseCsbSettings(body: unknown): CsbSettings {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CsbSettingsError(400, 'body must be a JSON object: {"apiKey": "...", "baseUrl": "https://<tenant>.customersuccessbox.com"}')
  }
  const input = body as Record<string, unknown>
  const unknown = Object.keys(input).filter((k) => !(FIELDS as readonly string[]).includes(k))
  if (unknown.length > 0) throw new CsbSettingsError(400, `unknown field ${JSON.stringify(unknown[0])}; known: ${FIELDS.join(', ')}`)
  const { apiKey, baseUrl, authScheme = 'bearer', defaultProductId, defaultModuleId, prefixCustomTraits } = input
  if (typeof apiKey !== 'string' || apiKey.trim() === '') throw new CsbSettingsError(400, '"apiKey" is required: your CustomerSuccessBox API key (a non-empty string)')
  if (typeof baseUrl !== 'string' || baseUrl.trim() === '') throw new CsbSettingsError(400, '"baseUrl" is required: https://<tenant>.customersuccessbox.com')
  if (authScheme !== 'bearer' && authScheme !== 'basic') throw new CsbSettingsError(400, `"authScheme" must be "bearer" or "basic", got ${JSON.stringify(authScheme)}`)
  const settings: CsbSettings = { apiKey, baseUrl, authScheme }
  for (const [field, value] of [['defaultProductId', defaultProductId], ['defaultModuleId', defaultModuleId]] as const) {
    if (value === undefined) continue
    if (typeof value !== 'string') throw new CsbSettingsError(400, `"${field}" must be a string`)
    settings[field] = value
  }
  if (prefixCustomTraits !== undefined) {
    if (typeof prefixCustomTraits !== 'boolean') throw new CsbSettingsError(400, '"prefixCustomTraits" must be true or false')
    settings.prefixCustomTraits = prefixCustomTraits
  }
  return settings
}

/** The settings kept by an earlier `PUT /api/csb`, if any. */
export async function loadStoredCsbSettings(store: Pick<Store, 'getMeta'>): Promise<CsbSettings | undefined> {
  const text = await store.getMeta(CSB_SETTINGS_META)
  if (text === null) return undefined
  try {
    return parseCsbSettings(JSON.parse(text))
  } catch (err) {
    throw new Error(`the CSB settings kept in the store (meta "${CSB_SETTINGS_META}") are not valid: ${(err as Error).message}; set them again with PUT /api/csb, or delete that meta row`)
  }
}

export async function storeCsbSettings(store: Pick<Store, 'setMeta'>, settings: CsbSettings): Promise<void> {
  await store.setMeta(CSB_SETTINGS_META, JSON.stringify(settings))
}
