/** CUSTOMERSUCCESSBOX_API_VERSION
 * The version part of every CustomerSuccessBox endpoint this destination calls:
 * /api/<version>/user, /account, /feature, /login, /logout, and /api_js/<version>/page
 * (the endpoint CustomerSuccessBox's own browser library posts page views to).
 */
export const CUSTOMERSUCCESSBOX_API_VERSION = 'v1_1'
