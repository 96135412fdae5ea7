/**
 * A suggested fix for each kind of delivery failure, shown beside the error in the dashboard
 * and `csb-relay status`. The first rule whose pattern matches the reason wins.
 */
interface FixRule {
  pattern: RegExp
  fix: string
}

const RULES: FixRule[] = [
  {
    pattern: /^Filtered by end user consent$/,
    fix: 'Nothing to fix: the end user did not consent to a category config "consent" requires for this destination (docs/privacy.md). Change that mapping only if it is wrong.'
  },
  {
    pattern: /^user suppressed by a regulation/,
    fix: 'Nothing to fix: the user is suppressed (docs/privacy.md). A regulation of type UNSUPPRESS (csb-relay regulate --type UNSUPPRESS USER_ID) lets their new events through.'
  },
  {
    pattern: /retry window|gave up/i,
    fix: 'CSB kept failing for longer than delivery.retryWindowMs (the last error is shown). Fix that cause, then replay these dead letters.'
  },
  {
    pattern: /not configured|CSB_API_KEY and CSB_BASE_URL/i,
    fix: 'Set CSB_API_KEY and CSB_BASE_URL (or "csb" in the config file) and restart; held events are then delivered.'
  },
  {
    pattern: /\b401\b|unauthori[sz]ed|authentication|invalid (api )?key|bad key/i,
    fix: 'Check CSB_API_KEY (CustomerSuccessBox: Settings > Developer Console > API Key for POST request) and csb.authScheme (bearer or basic).'
  },
  {
    pattern: /\b403\b|forbidden/i,
    fix: 'CSB refused the key for this endpoint: check that CSB_API_KEY is the key for POST requests of this tenant.'
  },
  {
    pattern: /\b429\b|rate.?limit|too many requests/i,
    fix: 'CSB is rate limiting; lower delivery.maxConcurrency or set delivery.maxRatePerSecond. Events are retried meanwhile.'
  },
  {
    pattern: /account_id/i,
    fix: 'Send traits.account_id (identify), properties.account_id (track/page) or groupId, or identify the user with an account first so the relay can fill it in.'
  },
  {
    pattern: /user_id/i,
    fix: 'Send a userId (or traits.user_id / properties.user_id); CSB needs a user id for users, features, logins and pages.'
  },
  {
    pattern: /NameLimitError|distinct (feature|module) names/,
    fix: 'CSB keeps at most 256 distinct features and 256 distinct modules per instance. Send fewer names (map feature_id / module_id to a fixed name or a property with few values in a subscription mapping, or drop such events with a filter); raise delivery.maxDistinctFeatures / maxDistinctModules only if your CSB instance keeps more. Then replay these dead letters.'
  },
  {
    pattern: /(product|module|feature)_id/i,
    fix: 'Send properties.product_id and properties.module_id, or set csb.defaultProductId and csb.defaultModuleId.'
  },
  {
    pattern: /\b404\b|not found/i,
    fix: 'Check CSB_BASE_URL: it must be your tenant, https://<tenant>.customersuccessbox.com, with no path.'
  },
  {
    pattern: /\b50[0-9]\b|timeout|timed out|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|socket|network|connection/i,
    fix: 'CSB is unreachable or failing: check CSB_BASE_URL and the network. Retryable failures keep being retried with backoff.'
  },
  {
    pattern: /integrations/i,
    fix: 'The event\'s integrations object turns CustomerSuccessBox off; this is expected unless the sender meant otherwise.'
  },
  {
    pattern: /no (subscription|action|mapping)|unsupported|alias/i,
    fix: 'No action is subscribed to this event; add a subscription in the config if it should reach CSB.'
  },
  {
    pattern: /filter/i,
    fix: 'A destination filter dropped this event; review "filters" in the config.'
  },
  {
    pattern: /success.?false|\b400\b|invalid|validation|required|must be/i,
    fix: 'CSB or the mapping rejected the payload: open an event\'s samples to see the request and CSB\'s answer, fix the event or the mapping, then replay.'
  }
]

const DEFAULT_FIX = 'Open an event\'s samples to see the request sent and CSB\'s answer.'

export function suggestFix(reason: string): string {
  for (const rule of RULES) if (rule.pattern.test(reason)) return rule.fix
  return DEFAULT_FIX
}
