/**
 * `csb-relay csb` and `csb-relay csb set --base-url URL`: whether a running relay has CSB
 * settings, and giving them to it without a restart, through its admin API (PUT /api/csb).
 */
import { adminRequest } from '../client'
import { adminTarget, commandArgs, talkingToRelay } from '../args'
import { csbApiKey } from '../env'

const HELP = `Usage:
  csb-relay csb                         whether the relay has CSB settings, and from where
  csb-relay csb set --base-url URL      give the running relay its CSB settings; the API key is
                                        read from $CSB_API_KEY (never a flag: flags show in ps)

The relay keeps the settings in its store and uses them at once: events it held while CSB was not
configured are delivered. Settings from the relay's environment or config file cannot be changed
this way (change them there and restart).

Options:
  --base-url URL       https://<tenant>.customersuccessbox.com
  --auth-scheme NAME   bearer (default) or basic
  --product-id NAME    default product_id for feature events
  --module-id NAME     default module_id for feature events
  --url URL            the relay (default http://127.0.0.1:8080, or http://$HOST:$PORT)
  --token TOKEN        admin token (default $CSB_RELAY_ADMIN_TOKEN)
  -h, --help           this help`

interface CsbState {
  configured: boolean
  source: string | null
  baseUrl: string | null
  authScheme: string | null
}

function describe(state: CsbState): string {
  if (!state.configured) return 'CSB is not configured: the relay holds the events it accepts. Set it with: CSB_API_KEY=... csb-relay csb set --base-url https://<tenant>.customersuccessbox.com'
  return `CSB: ${state.baseUrl} (${state.authScheme} auth), settings from the ${state.source}`
}

export async function run(argv: string[]): Promise<number> {
  const parsed = commandArgs('csb', argv, {
    'base-url': { type: 'string' },
    'auth-scheme': { type: 'string' },
    'product-id': { type: 'string' },
    'module-id': { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' }
  }, HELP, true)
  if (typeof parsed === 'number') return parsed
  const { values, positionals } = parsed
  const [sub, ...extra] = positionals
  if (extra.length > 0 || (sub !== undefined && sub !== 'set')) {
    console.error(`csb-relay csb: unexpected "${sub !== 'set' ? sub : extra[0]}"\n\n${HELP}`)
    return 2
  }
  const target = adminTarget(values)
  return talkingToRelay('csb', async () => {
    if (sub === undefined) {
      console.log(describe(await adminRequest<CsbState>(target, 'GET', '/csb')))
      return 0
    }
    const apiKey = csbApiKey()
    if (!apiKey) {
      console.error('csb-relay csb set: set CSB_API_KEY in the environment to the CustomerSuccessBox API key (it is not taken as a flag)')
      return 2
    }
    if (!values['base-url']) {
      console.error('csb-relay csb set: --base-url is required: https://<tenant>.customersuccessbox.com')
      return 2
    }
    const body: Record<string, string> = { apiKey, baseUrl: values['base-url'] }
    if (values['auth-scheme']) body.authScheme = values['auth-scheme']
    if (values['product-id']) body.defaultProductId = values['product-id']
    if (values['module-id']) body.defaultModuleId = values['module-id']
    const state = await adminRequest<CsbState>(target, 'PUT', '/csb', body)
    console.log(`${describe(state)}. Kept in the relay's store; held events are being delivered.`)
    return 0
  })
}
