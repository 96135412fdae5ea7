/**
 * The settings document analytics.js (@segment/analytics-next) fetches from
 * `<cdnURL>/v1/projects/<writeKey>/settings` at load. Its "Segment.io" integration says where
 * events go: `<protocol>://<apiHost>/<t|i|p|...>`, so apiHost is this relay's address plus `/v1`.
 * Nothing in it makes the browser call a Segment host:
 * - no other integrations (each would load a destination's code from the CDN), no middleware
 *   or routing rules, no remote plugins, no plan (schema filter), no legacy video plugins;
 * - `metrics.sampleRate: 0` turns off the library's own metrics, which it would otherwise send
 *   to api.segment.io/v1/m (with 0 it starts no flush timer and samples no metric).
 */
export interface BrowserSettingsInput {
  writeKey: string
  /** `host[:port]` as the browser reaches the relay, followed by the public URL's path if any. */
  host: string
  protocol: 'http' | 'https'
}

export function browserSettings({ writeKey, host, protocol }: BrowserSettingsInput): Record<string, unknown> {
  return {
    integrations: {
      'Segment.io': {
        apiKey: writeKey,
        apiHost: `${host}/v1`,
        protocol,
        unbundledIntegrations: [],
        addBundledMetadata: true,
        maybeBundledConfigIds: {}
      }
    },
    plan: {},
    edgeFunction: {},
    analyticsNextEnabled: true,
    middlewareSettings: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0 },
    legacyVideoPluginsEnabled: false,
    remotePlugins: []
  }
}
