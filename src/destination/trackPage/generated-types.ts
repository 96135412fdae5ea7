// Generated file. DO NOT MODIFY IT BY HAND.

export interface Payload {
  /**
   * The CustomerSuccessBox account the user belongs to. Required; sent as a string.
   */
  account_id: string
  /**
   * The CustomerSuccessBox user. Defaults to properties.user_id, else the Segment userId. Required; sent as a string.
   */
  user_id: string
  /**
   * The name of the page (the first argument of analytics.page).
   */
  name?: string
  /**
   * The page's url: properties.url, else context.page.url.
   */
  url?: string
  /**
   * The page's path: properties.path, else context.page.path.
   */
  path?: string
  /**
   * The page's title: properties.title, else context.page.title.
   */
  title?: string
  /**
   * The page's referrer: properties.referrer, else context.page.referrer.
   */
  referrer?: string
  /**
   * When the event happened; sent as ISO 8601 in UTC. Falls back to when Segment received it.
   */
  timestamp?: string | number
  /**
   * Sent as top-level keys after the fields above (ids and the page fields are not repeated). Nested objects are flattened with "_".
   */
  properties?: {
    [k: string]: unknown
  }
}
