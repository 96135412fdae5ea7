// Generated file. DO NOT MODIFY IT BY HAND.

export interface Payload {
  /**
   * The CustomerSuccessBox account. Defaults to traits.account_id, else the Segment groupId. Required; sent as a string.
   */
  account_id: string
  /**
   * Attributes set on the account, sent as top-level keys. Nested objects are flattened with "_" (address.city becomes address_city).
   */
  traits?: {
    [k: string]: unknown
  }
}
