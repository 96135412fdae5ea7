// Generated file. DO NOT MODIFY IT BY HAND.

export interface Payload {
  /**
   * The CustomerSuccessBox account the user belongs to. Required; sent as a string.
   */
  account_id: string
  /**
   * The CustomerSuccessBox user. Defaults to traits.user_id, else the Segment userId. Required; sent as a string.
   */
  user_id: string
  /**
   * Attributes set on the user, sent as top-level keys. Nested objects are flattened with "_" (address.city becomes address_city).
   */
  traits?: {
    [k: string]: unknown
  }
}
