// Generated file. DO NOT MODIFY IT BY HAND.

export interface Settings {
  /**
   * The "API key for POST request" from CustomerSuccessBox: Settings (gear icon) > Developer Console > API Key.
   */
  apiKey: string
  /**
   * Your CustomerSuccessBox address, like https://<tenant>.customersuccessbox.com. https:// only; http:// is allowed for 127.0.0.1, localhost and [::1] (a local sandbox).
   */
  baseUrl: string
  /**
   * How the key is sent: "bearer" (Authorization: Bearer <key>, the default) or "basic" (HTTP Basic, the key as user name, empty password).
   */
  authScheme?: string
  /**
   * Product for track events without properties.product_id. Default "Default Product".
   */
  defaultProductId?: string
  /**
   * Module for track events without properties.module_id. Default "Default Module".
   */
  defaultModuleId?: string
  /**
   * Send user and account attributes that are not CustomerSuccessBox standard attributes as custom_<name>. Default off.
   */
  prefixCustomTraits?: boolean
}
