/**
 * `csb-relay start [--config FILE] [--port N] [--host H] [--db URL] [--new-admin-token]`: runs
 * the relay until SIGTERM or SIGINT, then closes it gracefully and exits 0. Configuration errors
 * exit 2.
 */
import { ConfigError, loadConfig, type RelayConfig } from '../config'
import { redactDbUrl } from '../../delivery'
import { createRouter, RoutingConfigError } from '../../delivery/routing'
import { checkDestinations, DestinationConfigError } from '../../delivery'
import { startRelay, type Relay } from '../relay'

const USAGE = `Usage: csb-relay start [--config FILE] [--port N] [--host H] [--db URL] [--new-admin-token]

Runs the relay: the Segment tracking API, the durable store, delivery to CustomerSuccessBox
and the dashboard. Flags win over environment variables (PORT, HOST, CSB_RELAY_DB,
CSB_RELAY_CONFIG, CSB_API_KEY, CSB_BASE_URL, CSB_RELAY_WRITE_KEYS, CSB_RELAY_ADMIN_TOKEN),
which win over the JSON config file.

Listening on any host but a loopback address without CSB_RELAY_ADMIN_TOKEN, the relay makes an
admin token on first start and prints it once ("Admin token: ..."); the store keeps only its
hash. --new-admin-token makes a new one (printed once) and the old one stops working.`

/** Not a setting of the relay but an action at start: the config loader never sees it. */
const NEW_ADMIN_TOKEN_FLAG = '--new-admin-token'

export function sdkSnippets(url: string, writeKey: string): string {
  return [
    'Node (@segment/analytics-node):',
    `  const { Analytics } = require('@segment/analytics-node')`,
    `  const analytics = new Analytics({ writeKey: '${writeKey}', host: '${url}', path: '/v1/batch' })`,
    `  analytics.track({ userId: 'user-1', event: 'Signed Up' })`,
    '',
    'Browser (@segment/analytics-next):',
    `  import { AnalyticsBrowser } from '@segment/analytics-next'`,
    `  const analytics = AnalyticsBrowser.load({ writeKey: '${writeKey}', cdnURL: '${url}' })`,
    `  analytics.track('Signed Up')`,
    '',
    'RudderStack (@rudderstack/rudder-sdk-node):',
    `  const Analytics = require('@rudderstack/rudder-sdk-node')`,
    `  const analytics = new Analytics('${writeKey}', { dataPlaneUrl: '${url}' })`,
    '',
    'curl:',
    `  curl -u '${writeKey}:' -H 'Content-Type: application/json' \\`,
    `    -d '{"userId":"user-1","event":"Signed Up"}' ${url}/v1/track`
  ].join('\n')
}

function banner(relay: Relay, renewedAdminToken: boolean): string {
  const { url, config, writeKeys } = relay
  const lines = [`csb-relay listening on ${url} (store: ${relay.store.engine}, ${redactDbUrl(config.db)})`, `Dashboard: ${url}/`]
  const generated = writeKeys.generated
  if (generated?.createdNow) {
    lines.push(
      '',
      'No write key was configured, so one was generated and saved in the store.',
      `Write key: ${generated.writeKey}`,
      '(shown only now; set CSB_RELAY_WRITE_KEYS or "sources" in the config file to choose your own)',
      '',
      sdkSnippets(url, generated.writeKey)
    )
  } else if (generated) {
    lines.push(`Write key: the one generated on first start (kept in the store's meta "ingest.generatedWriteKey")`)
  } else {
    lines.push(`Write keys: ${writeKeys.sources.length} source(s): ${writeKeys.sources.map((s) => s.name).join(', ')}`)
  }
  lines.push(...adminLines(relay, renewedAdminToken))
  const csb = relay.csbState()
  lines.push(
    '',
    csb.configured
      ? `CSB: delivering to ${csb.baseUrl}${csb.source === 'admin API' ? ' (settings given through PUT /api/csb, kept in the store)' : ''}`
      : 'CSB not configured: events are accepted and held until CSB_API_KEY and CSB_BASE_URL are set (or PUT /api/csb).'
  )
  return lines.join('\n')
}

function adminLines({ adminAccess, config }: Relay, renewed: boolean): string[] {
  if (adminAccess.createdNow) {
    return [
      '',
      renewed
        ? 'A new admin token was made (--new-admin-token); the one before it no longer works (on other relays sharing this database: once they restart). The store keeps only its hash.'
        : `No admin token was configured and the relay listens beyond this machine (${config.host}), so it made one; the store keeps only its hash.`,
      `Admin token: ${adminAccess.createdNow}`,
      '(shown only now: the dashboard and the CLI (--token or CSB_RELAY_ADMIN_TOKEN) need it for /api/; start with --new-admin-token for another)'
    ]
  }
  switch (adminAccess.source) {
    case 'configuration':
      return ['Admin access: with the token set by CSB_RELAY_ADMIN_TOKEN or "adminToken"']
    case 'generated':
      return ['Admin access: with the token generated earlier (the store keeps only its hash; start with --new-admin-token for a new one, or set CSB_RELAY_ADMIN_TOKEN)']
    case 'none':
      return [`Admin access: from this machine only, no token (listening on ${config.host}; set CSB_RELAY_ADMIN_TOKEN for a token)`]
  }
}

function readConfig(argv: string[]): RelayConfig | string {
  try {
    const config = loadConfig({ argv })
    // Destination filters are checked before anything opens: a broken rule must not start a relay.
    createRouter(config.filters)
    // So are the destinations beside CSB: their definitions, settings and mappings.
    checkDestinations(config.destinations)
    return config
  } catch (err) {
    // ConfigError names the setting; RoutingConfigError the filter rule; parseArgs errors name the flag.
    if (err instanceof ConfigError || err instanceof RoutingConfigError || err instanceof DestinationConfigError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      return (err as Error).message
    }
    throw err
  }
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE)
    return 0
  }
  const newAdminToken = argv.includes(NEW_ADMIN_TOKEN_FLAG)
  const config = readConfig(argv.filter((arg) => arg !== NEW_ADMIN_TOKEN_FLAG))
  if (typeof config === 'string') {
    console.error(`csb-relay start: configuration error: ${config}`)
    return 2
  }
  if (newAdminToken && config.adminToken) {
    console.error(`csb-relay start: ${NEW_ADMIN_TOKEN_FLAG}: the admin token is set by CSB_RELAY_ADMIN_TOKEN or "adminToken" in the config file; change it there instead`)
    return 2
  }

  // Signal handlers go in before anything starts: a SIGTERM that arrives while the relay is
  // starting (or just as the banner is printed) must close it, not kill the process outright.
  let signals = 0
  let relay: Relay | undefined
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        relay?.logger.warn({ signal }, 'second signal while closing: exiting now')
        process.exit(1)
      }
      resolve(signal)
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })

  try {
    relay = await startRelay(config, { newAdminToken })
  } catch (err) {
    console.error(`csb-relay start: could not start: ${(err as Error).message}`)
    return 1
  }
  console.log(banner(relay, newAdminToken))

  const signal = await stopRequested
  relay.logger.info({ signal }, 'closing: finishing in-flight requests')
  try {
    await relay.close()
  } catch (err) {
    relay.logger.error({ err }, 'close failed')
    return 1
  }
  relay.logger.info('closed')
  return 0
}
