/**
 * Loading and checking the `destinations` at start (docs/destinations.md): the definition is
 * found (definitions.ts) and refused when the relay cannot run it; its settings are checked
 * against its settings schema and each subscription's mapping against its action's fields, with
 * actions-core's own validation (its JSON schema of fields, its validator: public exports). Every
 * error names the destination, the field and the fix; the CLI exits 2 on it before anything opens.
 */
import { fieldsToJsonSchema, isDirective, validateSchema } from '@segment/actions-core'
import { loadDefinition, refusal, DefinitionError, type LoadedDefinition } from './definitions'
import { compileSubscriptions, defaultSubscriptions, SubscriptionError, type ActiveSubscription } from './subscriptions'
import type { DestinationConfig, SubscriptionConfig } from './types'

export class DestinationConfigError extends Error {
  override name = 'DestinationConfigError'
}

/** How a subscription batches, when its action has `performBatch` and its mapping turns batching on. */
export interface BatchSetting {
  /** Most events in one batch. */
  size: number
}

/** A batch's size when the mapping turns batching on without a `batch_size`. */
export const DEFAULT_BATCH_SIZE = 100

/** A destination ready to run: its definition, checked settings and compiled subscriptions. */
export interface CheckedDestination {
  config: DestinationConfig
  definition: LoadedDefinition
  subscriptions: ActiveSubscription[]
  /** Subscriptions as configured (or the presets), mapping defaults filled in. */
  configured: SubscriptionConfig[]
  /** Batched subscriptions, by name. */
  batching: Map<string, BatchSetting>
  /** Settings values of password fields (scrubbed from reasons and logs). */
  secrets: string[]
}

/** Loads and checks every configured destination; throws DestinationConfigError on the first problem. */
export function checkDestinations(configs: DestinationConfig[], cwd: string = process.cwd()): CheckedDestination[] {
  return configs.map((config) => checkDestination(config, cwd))
}

export function checkDestination(config: DestinationConfig, cwd: string): CheckedDestination {
  const label = `destination "${config.name}"`
  let definition: LoadedDefinition
  try {
    definition = loadDefinition(config.definition, cwd)
  } catch (err) {
    if (err instanceof DefinitionError) throw new DestinationConfigError(`${label}: ${err.message}`)
    throw err
  }
  const refused = refusal(definition)
  if (refused) throw new DestinationConfigError(`${label}: the relay cannot run ${definition.name} (${config.definition}): ${refused}. Remove it from "destinations"`)

  const settingFields = definition.authentication?.fields ?? {}
  for (const key of Object.keys(config.settings)) {
    if (!(key in settingFields)) {
      const known = Object.keys(settingFields)
      throw new DestinationConfigError(
        `${label}: unknown setting "settings.${key}" for ${definition.name}; ${known.length ? `known: ${known.join(', ')}` : 'it takes no settings'}`
      )
    }
  }
  const settingsProblem = fieldsProblem(settingFields, config.settings)
  if (settingsProblem) {
    throw new DestinationConfigError(`${label}: invalid "settings": ${settingsProblem.replace(/\.$/, '')}. Fix it in destinations[].settings (fields: ${Object.keys(settingFields).join(', ') || 'none'})`)
  }

  const configured = (config.subscriptions ?? defaultSubscriptions(definition)).map((sub) => withFieldDefaults(sub, definition))
  if (configured.length === 0) {
    throw new DestinationConfigError(`${label}: ${definition.name} has no automatic presets; give "subscriptions" ({"subscribe", "partnerAction", "mapping"}) for it`)
  }
  let subscriptions: ActiveSubscription[]
  try {
    subscriptions = compileSubscriptions(configured, definition)
  } catch (err) {
    if (err instanceof SubscriptionError) throw new DestinationConfigError(`${label}: ${err.message}`)
    throw err
  }
  const batching = new Map<string, BatchSetting>()
  for (const sub of subscriptions) {
    const action = definition.actions[sub.partnerAction]
    const fields = (action.fields ?? {}) as Record<string, { required?: boolean; default?: unknown }>
    const literals = Object.fromEntries(Object.entries(sub.mapping).filter(([k, v]) => k in fields && !containsDirective(v)))
    const problem = fieldsProblem(fields, literals, true)
    if (problem) throw new DestinationConfigError(`${label}, subscription "${sub.name}": invalid mapping: ${problem.replace(/\.$/, '')}. Fix the mapping's value`)
    for (const [field, spec] of Object.entries(fields)) {
      if (spec.required && !(field in sub.mapping)) {
        throw new DestinationConfigError(`${label}, subscription "${sub.name}": the mapping lacks "${field}", which ${sub.partnerAction} requires; add it (a value or a directive such as {"@path": "$.userId"})`)
      }
    }
    const batch = batchSetting(sub, typeof action.performBatch === 'function')
    if (typeof batch === 'string') throw new DestinationConfigError(`${label}, subscription "${sub.name}": ${batch}`)
    if (batch) batching.set(sub.name, batch)
  }
  const secrets = Object.entries(settingFields)
    .filter(([key, field]) => field?.type === 'password' && typeof config.settings[key] === 'string' && config.settings[key] !== '')
    .map(([key]) => config.settings[key] as string)
  return { config, definition, subscriptions, configured, batching, secrets }
}

/** The action's field defaults for the fields the mapping leaves out, as Segment's app fills them in. */
function withFieldDefaults(sub: SubscriptionConfig, definition: LoadedDefinition): SubscriptionConfig {
  const action = definition.actions[sub.partnerAction]
  if (!action) return sub
  const mapping: Record<string, unknown> = { ...(sub.mapping ?? {}) }
  for (const [field, spec] of Object.entries((action.fields ?? {}) as Record<string, { default?: unknown }>)) {
    if (!(field in mapping) && spec.default !== undefined) mapping[field] = spec.default
  }
  return { ...sub, mapping }
}

function containsDirective(value: unknown): boolean {
  if (isDirective(value as never)) return true
  if (Array.isArray(value)) return value.some(containsDirective)
  if (value && typeof value === 'object') return Object.values(value).some(containsDirective)
  return false
}

/** Batching: `enable_batching: true` in the mapping, on an action with `performBatch`; `batch_size` caps it. */
function batchSetting(sub: ActiveSubscription, canBatch: boolean): BatchSetting | string | null {
  if (sub.mapping.enable_batching !== true) return null
  if (!canBatch) return `"enable_batching" is on, but action ${sub.partnerAction} has no performBatch; remove "enable_batching"`
  const size = sub.mapping.batch_size
  if (size === undefined || size === 0) return { size: DEFAULT_BATCH_SIZE }
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) return `"batch_size" must be a positive integer (or 0 for ${DEFAULT_BATCH_SIZE}), got ${JSON.stringify(size)}`
  return { size }
}

/**
 * Checks values against fields as actions-core would (its JSON schema of the fields, its
 * validator): `null` when they fit, else the validator's message naming the field. `partial`:
 * required fields may be absent (a mapping's literal values alone).
 */
function fieldsProblem(fields: Record<string, unknown>, values: Record<string, unknown>, partial = false): string | null {
  const schema = fieldsToJsonSchema(fields as never) as Record<string, unknown>
  if (partial) delete schema.required
  try {
    validateSchema(values, schema as never, { throwIfInvalid: true })
    return null
  } catch (err) {
    return (err as Error).message
  }
}
