/** What every subcommand does with its arguments: strict parsing, `-h`/`--help`, usage errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ClientError, type RelayTarget } from './client'
import { adminToken, relayUrl } from './env'

type Options = NonNullable<ParseArgsConfig['options']>
const HELP_OPTION = { help: { type: 'boolean', short: 'h', default: false } } as const

/**
 * The command's options and positionals, or its exit code when there is nothing more to do: 0
 * after printing the help (`--help`), 2 after printing a usage error followed by the help.
 */
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O & typeof HELP_OPTION; strict: true; allowPositionals: boolean }>>

export function commandArgs<O extends Options>(command: string, argv: string[], options: O, help: string, allowPositionals = false): Parsed<O> | number {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { ...options, ...HELP_OPTION }, strict: true, allowPositionals })
  } catch (err) {
    console.error(`csb-relay ${command}: ${(err as Error).message}\n\n${help}`)
    return 2
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(help)
    return 0
  }
  return parsed
}

/** The relay and admin token a command talks to: `--url` / `--token`, else the environment. */
export function adminTarget(values: { url?: string; token?: string }): RelayTarget {
  return { url: relayUrl(values.url), token: adminToken(values.token) }
}

/** Runs a command's calls to the relay: a ClientError (unreachable, refused, no token) is printed and exits 1. */
export async function talkingToRelay(command: string, work: () => Promise<number>): Promise<number> {
  try {
    return await work()
  } catch (err) {
    if (!(err instanceof ClientError)) throw err
    console.error(`csb-relay ${command}: ${err.message}`)
    return 1
  }
}
