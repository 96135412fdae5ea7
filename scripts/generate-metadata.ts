/**
 * Writes src/destination/metadata.json, the public description of the destination that
 * segmentio/action-destinations keeps beside every destination: what their
 * `./bin/run generate:metadata-payload --path <folder>` writes (their CI's
 * scripts/assert-metadata-payload.sh fails when it differs). The same keys in the same order,
 * absent values as null, JSON with two-space indents, then their Prettier (2.4.1) settings.
 *
 *   npm run generate-metadata            write the file
 *   npm run generate-metadata -- --check exit 1 if the file differs from what would be written
 */
import fs from 'node:fs'
import path from 'node:path'
import type { DestinationDefinition } from '@segment/actions-core'
import prettier from 'prettier'

export const METADATA_FILE = path.resolve(__dirname, '../src/destination/metadata.json')

/** action-destinations' Prettier settings (their package.json). */
const STYLE = { semi: false, singleQuote: true, trailingComma: 'none', printWidth: 120 } as const

type Field = Record<string, any>

const orNull = (value: unknown): unknown => value ?? null

function requiredOf(field: Field): unknown {
  return typeof field.required === 'object' && field.required !== null ? field.required : field.required === true
}

function choicesOf(choices: unknown): Array<{ label: string; value: unknown }> | null {
  if (!Array.isArray(choices) || choices.length === 0) return null
  return choices.map((choice: unknown) =>
    typeof choice === 'object' && choice !== null && 'label' in choice && 'value' in choice
      ? (choice as { label: string; value: unknown })
      : { label: String(choice), value: choice }
  )
}

function settingField(field: Field): Record<string, unknown> {
  return {
    label: field.label,
    description: field.description,
    type: field.type,
    required: requiredOf(field),
    multiple: field.multiple ?? false,
    choices: choicesOf(field.choices),
    default: orNull(field.default),
    depends_on: orNull(field.depends_on)
  }
}

function actionField(field: Field): Record<string, unknown> {
  let properties: Record<string, unknown> | null = null
  if (field.type === 'object' && field.properties && typeof field.properties === 'object') {
    properties = {}
    for (const [key, property] of Object.entries(field.properties as Record<string, Field>)) {
      properties[key] = actionField(property)
    }
  }
  return {
    label: field.label,
    description: field.description,
    type: field.type,
    required: requiredOf(field),
    multiple: field.multiple ?? false,
    allowNull: field.allowNull ?? false,
    dynamic: typeof field.dynamic === 'function' ? true : field.dynamic ?? false,
    default: orNull(field.default),
    choices: choicesOf(field.choices),
    placeholder: orNull(field.placeholder),
    properties,
    category: orNull(field.category),
    depends_on: orNull(field.depends_on),
    readOnly: orNull(field.readOnly),
    hidden: orNull(field.unsafe_hidden),
    minimum: orNull(field.minimum),
    maximum: orNull(field.maximum),
    defaultObjectUI: orNull(field.defaultObjectUI),
    disabledInputMethods: orNull(field.disabledInputMethods),
    displayMode: orNull(field.displayMode),
    format: orNull(field.format),
    additionalProperties: field.additionalProperties ?? false
  }
}

function mapValues<T>(record: Record<string, T> | undefined, fn: (value: T, key: string) => unknown) {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(record ?? {})) out[key] = fn(value, key)
  return out
}

/**
 * The metadata object for a cloud destination without audience settings, hooks, dynamic fields
 * or sync modes (this destination has none; they are refused rather than described wrongly).
 */
export function metadataOf(definition: DestinationDefinition<any>): Record<string, unknown> {
  const def = definition as DestinationDefinition<any> & Field
  if (!def.slug) throw new Error('the definition needs a slug (metadata.json is keyed by it)')
  for (const [key, action] of Object.entries(def.actions as Record<string, Field>)) {
    if (action.hooks || action.dynamicFields || action.syncMode) {
      throw new Error(`action ${key}: hooks, dynamicFields and syncMode are not described by this generator`)
    }
  }
  if (def.audienceConfig) throw new Error('audienceConfig is not described by this generator')
  return {
    slug: def.slug,
    name: def.name,
    mode: def.mode ?? 'cloud',
    description: def.description,
    authentication: def.authentication
      ? { scheme: def.authentication.scheme ?? 'custom', fields: mapValues(def.authentication.fields, settingField) }
      : null,
    audienceConfig: null,
    actions: mapValues(def.actions as Record<string, Field>, (action, key) => ({
      title: action.title ?? key,
      description: action.description ?? '',
      platform: action.platform === 'web' ? 'web' : 'cloud',
      defaultSubscription: orNull(action.defaultSubscription),
      hidden: action.hidden ?? false,
      hasPerformBatch: typeof action.performBatch === 'function',
      syncMode: null,
      hooks: null,
      dynamicFields: null,
      fields: mapValues(action.fields as Record<string, Field>, actionField)
    })),
    presets: ((def.presets ?? []) as Field[]).map((preset) => ({
      name: preset.name,
      type: preset.type,
      partnerAction: preset.partnerAction,
      subscribe: preset.subscribe,
      mapping: preset.mapping ?? {},
      eventSlug: orNull(preset.eventSlug)
    }))
  }
}

/** metadata.json's text for `definition`. */
export function metadataText(definition: DestinationDefinition<any>): string {
  const json = JSON.stringify(metadataOf(definition), null, 2) + '\n'
  return prettier.format(json, { ...STYLE, parser: 'json' })
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check')
  const { destination } = (await import('../src/destination')) as { destination: DestinationDefinition<any> }
  const text = metadataText(destination)
  const current = fs.existsSync(METADATA_FILE) ? fs.readFileSync(METADATA_FILE, 'utf8') : undefined
  const relative = path.relative(process.cwd(), METADATA_FILE)
  if (current === text) {
    console.log(`${relative} is up to date`)
    return 0
  }
  if (check) {
    console.error(`out of date: ${relative} (run npm run generate-metadata)`)
    return 1
  }
  fs.writeFileSync(METADATA_FILE, text)
  console.log(`wrote ${relative}`)
  return 0
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err)
      process.exit(1)
    }
  )
}
