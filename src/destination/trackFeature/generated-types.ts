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
   * Decides the endpoint: "User Login" goes to /api/v1_1/login, "User Logout" to /api/v1_1/logout, anything else to /api/v1_1/feature.
   */
  event_name?: string
  /**
   * The feature name shown in CustomerSuccessBox; at most 64 characters are kept.
   */
  feature_id: string
  /**
   * The module the feature belongs to; the defaultModuleId setting when empty. At most 64 characters are kept.
   */
  module_id?: string
  /**
   * The product the module belongs to; the defaultProductId setting when empty. At most 64 characters are kept.
   */
  product_id?: string
  /**
   * How many times the feature was used; a whole number of 0 or more, else 1 (with a warning).
   */
  total?: number
  /**
   * When the event happened; sent as ISO 8601 in UTC. Falls back to when Segment received it.
   */
  timestamp?: string | number
}
