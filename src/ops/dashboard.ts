/**
 * `GET /`: the dashboard page. The page itself carries no data and loads without the admin
 * token; everything it shows comes from `/api/`, which requires the token when one is set.
 */
import type { FastifyPluginAsync } from 'fastify'
import { DASHBOARD_HTML } from './dashboard-page'

/** Inline script and style only; the page may talk to this relay and nothing else. */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

export const dashboardPlugin: FastifyPluginAsync = async (app) => {
  app.get('/', async (_request, reply) => {
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
    return DASHBOARD_HTML
  })
}
