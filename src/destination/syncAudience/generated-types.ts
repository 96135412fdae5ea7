// Generated file. DO NOT MODIFY IT BY HAND.

export interface Payload {
  /**
   * The CustomerSuccessBox account the user belongs to: traits.account_id (identify) or properties.account_id (track). Required; sent as a string.
   */
  account_id: string
  /**
   * The CustomerSuccessBox user: traits.user_id, else properties.user_id, else the Segment userId. Required; sent as a string.
   */
  user_id: string
  /**
   * The user attribute that records membership (the snake_cased audience name Engage sends).
   */
  audience_key: string
  /**
   * For track calls: "Audience Entered" means true, "Audience Exited" false, when the properties carry no boolean under the audience key.
   */
  event_name?: string
  /**
   * The object holding the membership flag under the audience key: the identify call's traits, or the track call's properties.
   */
  membership_values?: {
    [k: string]: unknown
  }
}
