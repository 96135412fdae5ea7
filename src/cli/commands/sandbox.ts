/**
 * `csb-relay sandbox`: a local CustomerSuccessBox with fault injection, for a first try, tests
 * and benchmarks. Flags describe the faults active from the start; `POST /_sandbox/faults`
 * changes them while it runs.
 */
import fs from 'node:fs'
import { parseArgs } from 'node:util'
import { startSandbox, type FaultsInput, type RecordedRequest } from '../../sandbox'

const DEFAULT_PORT = 8081

export const SANDBOX_USAGE = `Usage: csb-relay sandbox [options]

Runs a local CustomerSuccessBox (CSB) on http://HOST:PORT that checks requests the way CSB does,
records them (GET /_sandbox/requests) and injects faults (POST /_sandbox/faults).

Options:
  --port N              port to listen on (default ${DEFAULT_PORT}; 0 = any free port)
  --host H              address to listen on (default 127.0.0.1)
  --api-key KEY         the key requests must carry (default sandbox-key)
  --latency L           delay every answer: MS, or uniform:MIN:MAX, normal:MEAN:STDDEV,
                        exponential:MEAN (all in ms)
  --error-rate R        share of requests (0..1) answered with an error status
  --error-status S      the status(es) for --error-rate, e.g. 503 or 500,503 (default 500)
  --throttle-rate R     share of requests (0..1) answered 429
  --rate-limit N        token bucket: N requests per second; the excess gets 429
  --burst N             token bucket size (default: the --rate-limit rate)
  --retry-after S       Retry-After seconds sent with 429s and outage answers (default: none)
  --drop-rate R         share of requests (0..1) whose connection is dropped without an answer
  --outage S            start with an outage of S seconds
  --outage-mode M       status (answer --outage-status, default) or refuse (refuse connections)
  --outage-status S     the status answered during a status outage (default 503)
  --faults JSON|@FILE   a whole faults object (see docs/sandbox.md); other flags apply on top
  --record-limit N      requests kept for GET /_sandbox/requests (default 1000000)
  --seed N              seed the fault dice for a reproducible run
  --quiet               no log line per request
  -h, --help            this help`

class FlagError extends Error {}

type Values = Record<string, string | boolean | undefined>

function number(values: Values, flag: string, { min = 0, max = Infinity, integer = false } = {}): number | undefined {
  const raw = values[flag]
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`
    throw new FlagError(`--${flag}: expected ${integer ? 'an integer' : 'a number'} ${range}, got "${String(raw)}"`)
  }
  return value
}

function statuses(raw: string): string[] {
  const codes = raw.split(',').map((s) => s.trim())
  for (const code of codes) {
    if (!/^[45]\d\d$/.test(code)) throw new FlagError(`--error-status: expected status codes from 400 to 599, comma-separated (e.g. 500,503), got "${raw}"`)
  }
  return codes
}

function latency(raw: string): FaultsInput['latency'] {
  const bad = () => new FlagError(`--latency: expected MS, uniform:MIN:MAX, normal:MEAN:STDDEV or exponential:MEAN (ms, >= 0), got "${raw}"`)
  const [kind, ...args] = raw.split(':')
  const nums = args.map(Number)
  if (nums.some((n) => !Number.isFinite(n) || n < 0)) throw bad()
  if (args.length === 0) {
    const ms = Number(kind)
    if (kind.trim() === '' || !Number.isFinite(ms) || ms < 0) throw bad()
    return ms
  }
  if (kind === 'fixed' && nums.length === 1) return { distribution: 'fixed', ms: nums[0] }
  if (kind === 'uniform' && nums.length === 2 && nums[0] <= nums[1]) return { distribution: 'uniform', minMs: nums[0], maxMs: nums[1] }
  if (kind === 'normal' && nums.length === 2) return { distribution: 'normal', meanMs: nums[0], stdDevMs: nums[1] }
  if (kind === 'exponential' && nums.length === 1) return { distribution: 'exponential', meanMs: nums[0] }
  throw bad()
}

function faultsJson(raw: string): Record<string, unknown> {
  let text = raw
  if (raw.startsWith('@')) {
    try {
      text = fs.readFileSync(raw.slice(1), 'utf8')
    } catch (err) {
      throw new FlagError(`--faults: cannot read ${raw.slice(1)} (${(err as Error).message})`)
    }
  }
  try {
    const parsed = JSON.parse(text) as unknown
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object')
    return parsed as Record<string, unknown>
  } catch (err) {
    throw new FlagError(`--faults: expected a JSON object or @FILE holding one (${(err as Error).message})`)
  }
}

export interface SandboxFlags {
  port: number
  host: string
  apiKey?: string
  recordLimit?: number
  seed?: number
  quiet: boolean
  help: boolean
  faults: Record<string, unknown>
}

/** Parses the command line; throws FlagError naming the flag and what it accepts. */
export function parseSandboxFlags(argv: string[]): SandboxFlags {
  const string = { type: 'string' } as const
  let values: Values
  try {
    ;({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: string, host: string, 'api-key': string, latency: string, 'error-rate': string, 'error-status': string,
        'throttle-rate': string, 'rate-limit': string, burst: string, 'retry-after': string, 'drop-rate': string,
        outage: string, 'outage-mode': string, 'outage-status': string, faults: string, 'record-limit': string,
        seed: string, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }
      }
    }) as { values: Values })
  } catch (err) {
    throw new FlagError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')}. Run \`csb-relay sandbox --help\` for the accepted flags.`)
  }
  const host = values.host as string | undefined
  if (host !== undefined && host.trim() === '') throw new FlagError('--host: expected an address such as 127.0.0.1 or 0.0.0.0')
  const apiKey = values['api-key'] as string | undefined
  if (apiKey !== undefined && apiKey === '') throw new FlagError('--api-key: expected a non-empty key')

  const faults: Record<string, unknown> = values.faults ? faultsJson(values.faults as string) : {}
  const retryAfter = number(values, 'retry-after', { integer: true })
  const withRetryAfter = <T extends object>(fault: T) => (retryAfter === undefined ? fault : { ...fault, retryAfterSeconds: retryAfter })

  if (values.latency !== undefined) faults.latency = latency(values.latency as string)
  const errorRate = number(values, 'error-rate', { max: 1 })
  if (values['error-status'] !== undefined && errorRate === undefined) throw new FlagError('--error-status: needs --error-rate')
  if (errorRate !== undefined) {
    const codes = statuses((values['error-status'] as string | undefined) ?? '500')
    faults.errors = Object.fromEntries(codes.map((code) => [code, errorRate / codes.length]))
  }
  const throttleRate = number(values, 'throttle-rate', { max: 1 })
  if (throttleRate !== undefined) faults.throttle = withRetryAfter({ rate: throttleRate })
  const rateLimit = number(values, 'rate-limit', { min: Number.MIN_VALUE })
  const burst = number(values, 'burst', { min: 1, integer: true })
  if (burst !== undefined && rateLimit === undefined) throw new FlagError('--burst: needs --rate-limit')
  if (rateLimit !== undefined) faults.rateLimit = withRetryAfter(burst === undefined ? { perSecond: rateLimit } : { perSecond: rateLimit, burst })
  const dropRate = number(values, 'drop-rate', { max: 1 })
  if (dropRate !== undefined) faults.dropRate = dropRate
  const outage = number(values, 'outage')
  const mode = values['outage-mode'] as string | undefined
  if (mode !== undefined && mode !== 'status' && mode !== 'refuse') throw new FlagError(`--outage-mode: expected status or refuse, got "${mode}"`)
  const outageStatus = number(values, 'outage-status', { min: 400, max: 599, integer: true })
  if ((mode !== undefined || outageStatus !== undefined) && outage === undefined) throw new FlagError('--outage-mode and --outage-status need --outage SECONDS')
  if (outage !== undefined) {
    faults.outage = { seconds: outage, mode: mode ?? 'status', ...(outageStatus === undefined ? {} : { status: outageStatus }), ...(retryAfter === undefined || mode === 'refuse' ? {} : { retryAfterSeconds: retryAfter }) }
  }

  return {
    port: number(values, 'port', { max: 65535, integer: true }) ?? DEFAULT_PORT,
    host: host ?? '127.0.0.1',
    apiKey,
    recordLimit: number(values, 'record-limit', { min: 1, integer: true }),
    seed: number(values, 'seed', { integer: true }),
    quiet: values.quiet === true,
    help: values.help === true,
    faults
  }
}

/** Buffers request log lines and writes them once per event-loop turn, so logging keeps up with thousands per second. */
function requestLogger(): (request: RecordedRequest) => void {
  let pending: string[] = []
  const flush = () => {
    process.stdout.write(pending.join(''))
    pending = []
  }
  return (r) => {
    if (pending.length === 0) setImmediate(flush)
    const status = r.status === 0 ? 'dropped' : String(r.status)
    pending.push(`${r.method} ${r.path} ${status}${r.fault ? ` (fault: ${r.fault})` : ''}\n`)
  }
}

function describeFaults(faults: Record<string, unknown>): string {
  return Object.keys(faults).length === 0 ? 'none (change them with POST /_sandbox/faults)' : JSON.stringify(faults)
}

export async function run(argv: string[]): Promise<number> {
  let flags: SandboxFlags
  try {
    flags = parseSandboxFlags(argv)
  } catch (err) {
    if (!(err instanceof FlagError)) throw err
    console.error(`csb-relay sandbox: ${err.message}`)
    return 2
  }
  if (flags.help) {
    console.log(SANDBOX_USAGE)
    return 0
  }

  let sandbox
  try {
    sandbox = await startSandbox({
      port: flags.port,
      host: flags.host,
      apiKey: flags.apiKey,
      recordLimit: flags.recordLimit,
      seed: flags.seed,
      faults: flags.faults as FaultsInput,
      onRequest: flags.quiet ? undefined : requestLogger()
    })
  } catch (err) {
    const error = err as NodeJS.ErrnoException
    if (error.name === 'FaultsError') {
      console.error(`csb-relay sandbox: --faults: ${error.message}`)
      return 2
    }
    if (error.code === 'EADDRINUSE') console.error(`csb-relay sandbox: port ${flags.port} on ${flags.host} is in use; choose another with --port (0 = any free port).`)
    else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') console.error(`csb-relay sandbox: cannot listen on --host ${flags.host} (${error.code}).`)
    else console.error(`csb-relay sandbox: cannot start: ${error.message}`)
    return 1
  }

  const started = sandbox
  console.log(
    [
      `CustomerSuccessBox sandbox listening on ${started.url}`,
      `API key: ${started.apiKey}`,
      '',
      'Point the relay at it:',
      `  CSB_BASE_URL=${started.url} CSB_API_KEY=${started.apiKey}`,
      '',
      `Faults: ${describeFaults(flags.faults)}`,
      `Recorded requests: GET ${started.url}/_sandbox/requests   Faults: GET/POST ${started.url}/_sandbox/faults`,
      'Press Ctrl+C to stop.',
      ''
    ].join('\n')
  )

  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(1) // a second signal: stop now
      stopping = true
      started.close().then(() => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        console.log(`sandbox stopped (${signal})`)
        resolve(0)
      })
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}
