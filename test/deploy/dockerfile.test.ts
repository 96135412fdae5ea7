/**
 * The Dockerfile read as Docker reads it (instructions, stages, the build context after
 * .dockerignore) for what docs/deploy.md promises. `npm run test:deploy` builds and runs it.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(__dirname, '../..')

interface Instruction {
  keyword: string
  args: string
}

/** Instructions in order, continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.split('\n').filter((line) => !line.trimStart().startsWith('#')).join('\n').replace(/\\\n/g, ' ')
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/)
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') }
    })
}

const all = instructions(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))
const stageStarts = all.flatMap((ins, i) => (ins.keyword === 'FROM' ? [i] : []))
const runStage = all.slice(stageStarts.at(-1))
const buildStage = all.slice(stageStarts[0], stageStarts.at(-1))
const inRun = (keyword: string) => runStage.filter((ins) => ins.keyword === keyword).map((ins) => ins.args)

/** Whether `file` (relative to the context) is sent to the builder: the last matching rule wins. */
function inContext(file: string, ignore: string): boolean {
  let included = true
  for (const raw of ignore.split('\n').map((line) => line.trim())) {
    if (!raw || raw.startsWith('#')) continue
    const negated = raw.startsWith('!')
    const pattern = (negated ? raw.slice(1) : raw).replace(/\/$/, '')
    const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '(?:.*/)?')
    // A rule on a directory applies to everything under it.
    if (new RegExp(`^${source}(?:/.*)?$`).test(file)) included = negated
  }
  return included
}

describe('Dockerfile', () => {
  it('takes its base as a build argument, the official Node 20 slim image by default, for both stages', () => {
    expect(all[0]).toEqual({ keyword: 'ARG', args: 'BASE_IMAGE=node:20-bookworm-slim' })
    expect(stageStarts.map((i) => all[i].args)).toEqual(['${BASE_IMAGE} AS build', '${BASE_IMAGE} AS run'])
  })

  it('builds with every dependency and a compiler, and leaves only production dependencies', () => {
    const runs = buildStage.filter((ins) => ins.keyword === 'RUN').map((ins) => ins.args).join('\n')
    expect(runs).toMatch(/apt-get install .*python3 make g\+\+/)
    expect(runs).toContain('npm ci')
    expect(runs).toContain('npm run build && npm prune --omit=dev')
    expect(inRun('COPY').filter((args) => args.startsWith('--from=build'))).toEqual(
      expect.arrayContaining([expect.stringContaining('/src/node_modules'), expect.stringContaining('/src/dist')])
    )
  })

  it('runs as an unprivileged user with /data as its volume, listening on every interface', () => {
    expect(inRun('USER')).toEqual(['csb-relay:csb-relay'])
    expect(inRun('RUN').join('\n')).toMatch(/useradd .*csb-relay[\s\S]*chown csb-relay:csb-relay \/data/)
    expect(inRun('VOLUME')).toEqual(['["/data"]'])
    const env = inRun('ENV').join(' ')
    expect(env).toContain('HOST=0.0.0.0')
    expect(env).toContain('CSB_RELAY_DB=/data/csb-relay.db')
  })

  it('checks its health on /healthz, stops on SIGTERM and starts the relay', () => {
    const [healthcheck] = inRun('HEALTHCHECK')
    expect(healthcheck).toMatch(/CMD \["node", "\/app\/deploy\/healthcheck\.js"\]$/)
    expect(fs.readFileSync(path.join(ROOT, 'deploy', 'healthcheck.js'), 'utf8')).toContain('/healthz')
    expect(inRun('STOPSIGNAL')).toEqual(['SIGTERM'])
    expect(inRun('ENTRYPOINT')).toEqual(['["node", "/app/bin/csb-relay.js"]'])
    expect(inRun('CMD')).toEqual(['["start"]'])
  })

  it('sends the builder every file it copies, and neither node_modules, dist, databases nor tests', () => {
    const ignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    const copied = all
      .filter((ins) => ins.keyword === 'COPY' && !ins.args.startsWith('--from'))
      .flatMap((ins) => ins.args.split(/\s+/).slice(0, -1))
    expect(copied.length).toBeGreaterThan(4)
    for (const file of copied) {
      expect(fs.existsSync(path.join(ROOT, file)), file).toBe(true)
      expect(inContext(file.replace(/\/$/, ''), ignore), file).toBe(true)
    }
    for (const file of ['node_modules/fastify/package.json', 'dist/cli/main.js', 'data/csb-relay.db', 'test/deploy/dockerfile.test.ts', 'src/cli/config.test.ts', 'src/destination/__tests__/x.ts', '.git/HEAD']) {
      expect(inContext(file, ignore), file).toBe(false)
    }
  })
})
