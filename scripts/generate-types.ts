/**
 * Regenerates the destination's `generated-types.ts` files, the way segmentio/action-destinations'
 * `generate:types` command does: each field set goes through actions-core's `fieldsToJsonSchema`
 * (with `tsType`), titles and enums are dropped, and json-schema-to-typescript prints the
 * interface (`Settings` for the definition's authentication fields, `Payload` per action).
 *
 *   npm run generate-types            write the files
 *   npm run generate-types -- --check exit 1 if any file differs from what would be written
 */
import fs from 'node:fs'
import path from 'node:path'
import { fieldsToJsonSchema } from '@segment/actions-core'
import type { DestinationDefinition, InputField } from '@segment/actions-core'
import type { JSONSchema4 } from 'json-schema'
import { compile } from 'json-schema-to-typescript'

const BANNER = '// Generated file. DO NOT MODIFY IT BY HAND.'

/** The Prettier style of segmentio/action-destinations. */
const STYLE = { semi: false, singleQuote: true, trailingComma: 'none', printWidth: 120 } as const

export const DESTINATION_DIR = path.resolve(__dirname, '../src/destination')

function removeExtra(schema: JSONSchema4): JSONSchema4 {
  const copy: JSONSchema4 = { ...schema }
  delete copy.title
  delete copy.enum
  if (copy.type === 'object' && copy.properties) {
    const properties: Record<string, JSONSchema4> = {}
    for (const [key, property] of Object.entries(copy.properties)) properties[key] = removeExtra(property)
    copy.properties = properties
  } else if (copy.type === 'array' && copy.items && !Array.isArray(copy.items)) {
    copy.items = removeExtra(copy.items)
  }
  return copy
}

async function typesFor(fields: Record<string, InputField> | undefined, name: string): Promise<string> {
  const schema = removeExtra(fieldsToJsonSchema(fields ?? {}, { tsType: true }) as JSONSchema4)
  return compile(schema, name, { bannerComment: BANNER, style: STYLE })
}

/** Every generated file of `definition`, by absolute path, rooted at `dir`. */
export async function generateTypes(
  definition: DestinationDefinition<any>,
  dir: string = DESTINATION_DIR
): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  files.set(
    path.join(dir, 'generated-types.ts'),
    await typesFor(definition.authentication?.fields as Record<string, InputField> | undefined, 'Settings')
  )
  for (const [slug, action] of Object.entries(definition.actions)) {
    files.set(path.join(dir, slug, 'generated-types.ts'), await typesFor(action.fields, 'Payload'))
  }
  return files
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check')
  // Loaded after the types exist, since the definition imports them.
  const { destination } = (await import('../src/destination')) as { destination: DestinationDefinition<any> }
  const files = await generateTypes(destination)
  let stale = 0
  for (const [file, text] of files) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined
    if (current === text) continue
    stale++
    if (check) console.error(`out of date: ${path.relative(process.cwd(), file)}`)
    else {
      fs.writeFileSync(file, text)
      console.log(`wrote ${path.relative(process.cwd(), file)}`)
    }
  }
  if (stale === 0) console.log(`${files.size} generated-types files are up to date`)
  return check && stale > 0 ? 1 : 0
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
