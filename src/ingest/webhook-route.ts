/**
 * `POST /v1/webhook`: what Segment's Webhooks destinations send (one event, or an array of them
 * from Webhooks (Actions) with batching on). Authentication is per source (webhook-auth.ts) and
 * happens before the body is parsed; the events are checked and kept as Segment sent them
 * (webhook-events.ts), then stored like any other request's: committed before the 200.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { IngestSource } from './auth'
import { IngestError } from './errors'
import { WebhookAuth } from './webhook-auth'

export const WEBHOOK_PATH = '/v1/webhook'
/** The path as users paste it, with or without a trailing slash. */
export const WEBHOOK_PATHS: ReadonlySet<string> = new Set([WEBHOOK_PATH, `${WEBHOOK_PATH}/`])

export interface WebhookRouteOptions {
  sources: readonly IngestSource[]
  /** Checks and stores the request's events; resolves after commit (the plugin's admission). */
  admit(request: FastifyRequest, raw: Buffer, source: string, receivedAt: Date): Promise<void>
  /** The success answer. */
  answer(reply: FastifyReply): FastifyReply
}

export function webhookRoute(app: FastifyInstance, options: WebhookRouteOptions): void {
  const auth = new WebhookAuth(options.sources)

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const receivedAt = new Date()
    const raw = request.body as Buffer | undefined
    if (!raw || raw.length === 0) throw new IngestError(400, 'empty body: send a Segment event or a JSON array of events')
    const source = auth.sourceOf({
      authorization: request.headers.authorization,
      queryWriteKey: (request.query as Record<string, unknown> | undefined)?.writeKey,
      signature: request.headers['x-signature'],
      body: raw
    })
    await options.admit(request, raw, source, receivedAt)
    return options.answer(reply)
  }
  const wrongMethod = async () => {
    throw new IngestError(405, `${WEBHOOK_PATH} takes POST: set the Method to POST in Segment's Webhooks mapping`)
  }
  for (const url of WEBHOOK_PATHS) {
    app.post(url, handler)
    // Answered here rather than by the default 404, whose message repeats the URL (and so a ?writeKey=).
    app.route({ method: ['GET', 'PUT', 'PATCH', 'DELETE'], url, handler: wrongMethod })
  }
}
