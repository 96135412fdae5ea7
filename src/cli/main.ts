/**
 * The `csb-relay` command. Each subcommand lives in `commands/<name>.ts` and exports
 * `run(argv): Promise<number>` (the exit code). Subcommands are loaded lazily so that
 * `csb-relay sandbox` does not pay for the relay's dependencies.
 */
type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }

const commands: Record<string, Command> = {
  start: { summary: 'run the relay (ingest, store, delivery, dashboard)', load: () => import('./commands/start') },
  sandbox: { summary: 'run a local CustomerSuccessBox with fault injection', load: () => import('./commands/sandbox') },
  status: { summary: 'backlog, rates and recent errors of a running relay', load: () => import('./commands/status') },
  dlq: { summary: 'dead letters: `dlq list`, `dlq replay [--all | ID...]`', load: () => import('./commands/dlq') },
  send: { summary: 'send one test event to a running relay', load: () => import('./commands/send') },
  csb: { summary: 'CSB settings of a running relay: `csb`, `csb set --base-url URL` (key from $CSB_API_KEY)', load: () => import('./commands/csb') },
  regulate: { summary: 'suppress or delete users (regulations): `regulate --type TYPE ID...`, `regulate list`, `regulate show ID`', load: () => import('./commands/regulate') },
  names: { summary: 'feature and module names sent to CSB (it keeps 256 of each), beside the limits', load: () => import('./commands/names') },
  import: { summary: 'import a JSON-lines file of Segment events (resumable)', load: () => import('./commands/import') }
}

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length))
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return ['Usage: csb-relay <command> [options]', '', 'Commands:', ...lines, '', 'Run `csb-relay <command> --help` for a command\'s options.'].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage())
    return name ? 0 : 1
  }
  const command = commands[name]
  if (!command) {
    console.error(`csb-relay: unknown command "${name}".\n\n${usage()}`)
    return 2
  }
  const module = await command.load()
  return module.run(rest)
}
