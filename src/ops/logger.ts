/**
 * The relay's logger: pino, JSON lines. Created once at start and passed down.
 * Secrets never reach the output (the rules are delivery's secrets.ts): fields and headers
 * named like a credential are redacted, and every line is scrubbed of the secret values
 * themselves just before it is written.
 */
import pino, { type DestinationStream, type Logger } from 'pino'
import { SecretSet, redactSecretFields } from '../delivery'

export interface LoggerOptions {
  level?: string
  /** Secret values to scrub from every line (CSB API key, write keys, admin token); a SecretSet may grow later. */
  secrets?: Iterable<string | undefined | null> | SecretSet
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  destination?: DestinationStream
}

export function createLogger({ level = 'info', secrets = [], destination }: LoggerOptions = {}): Logger {
  const set = secrets instanceof SecretSet ? secrets : new SecretSet(secrets)
  const scrub = set.scrub
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'csb-relay' },
    // One walk of each line's fields by name: cheaper than pino's redact paths, and any depth or spelling.
    formatters: { log: (fields) => redactSecretFields(fields) },
    hooks: { streamWrite: (line: string) => scrub(line) }
  }
  const logger = destination ? pino(options, destination) : pino(options)
  // pino formats the bindings of the root logger only; a child's go through the same rule here
  // (children inherit this `child`, so grandchildren do too).
  const child = logger.child
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, redactSecretFields(bindings), childOptions)
  } as Logger['child']
  return logger
}

type LogMethod = (...args: unknown[]) => void
interface ChildCapable {
  level: string
  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): unknown
}

/**
 * fastify's `childLoggerFactory`: a request's logger that becomes a real pino child (with the
 * request id) only when something logs through it. Building a pino child costs more than
 * ingesting a small event, and with request logging off most requests never log.
 */
export function lazyChildLogger<L extends ChildCapable>(this: unknown, logger: L, bindings: Record<string, unknown>, options: Record<string, unknown>): L {
  let made: (L & Record<string, LogMethod>) | undefined
  const target = () => (made ??= logger.child(bindings, options) as L & Record<string, LogMethod>)
  const forward = (name: string): LogMethod => (...args) => target()[name]!(...args)
  return {
    get level() {
      return target().level
    },
    set level(value: string) {
      target().level = value
    },
    fatal: forward('fatal'),
    error: forward('error'),
    warn: forward('warn'),
    info: forward('info'),
    debug: forward('debug'),
    trace: forward('trace'),
    silent: forward('silent'),
    child: (b: Record<string, unknown>, o?: Record<string, unknown>) => target().child(b, o)
  } as unknown as L
}
