/**
 * The settings document analytics.js (@segment/analytics-next) fetches from
 * `<cdnURL>/v1/projects/<writeKey>/settings` at load. Its "Segment.io" integration says where
 * events go: `<protocol>://<apiHost>/<t|i|p|...>`, so apiHost is this relay's host plus `/v1`.
 * No other integrations, middleware or remote plugins: nothing else is fetched, and
 * `metrics.sampleRate: 0` keeps the library from reporting its own metrics to Segment.
 */
export interface BrowserSettingsInput {
  writeKey: string
  /** `host[:port]` as the browser reached the relay. */
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
